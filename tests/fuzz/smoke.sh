#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# A short, deterministic libFuzzer run of every harness in tests/fuzz (fixed
# seed and run count) over its corpus, as part of the test suite: it proves
# the parsers still survive the corpus and a few ten thousand mutations.
# Long runs are for developers: build/fuzz/fuzz_X -max_total_time=600 CORPUS.
set -u
cd "$(dirname "$0")/../.." || exit 1
RUNS=${FUZZ_RUNS:-30000}
passed=0 failed=0

if ! make -s -j2 fuzz-build >/tmp/xlb-fuzz-build.log 2>&1; then
	tail -n 20 /tmp/xlb-fuzz-build.log
	echo "FAIL build fuzz harnesses"
	echo "0 passed, 1 failed"
	exit 1
fi
for src in tests/fuzz/fuzz_*.c; do
	name=$(basename "$src" .c)
	corpus=tests/fuzz/corpus/${name#fuzz_}
	work=$(mktemp -d /tmp/xlb-fuzz.XXXXXX)
	[ -d "$corpus" ] && cp "$corpus"/* "$work"/ 2>/dev/null
	if out=$(timeout 120 "build/fuzz/$name" -seed=1 -runs="$RUNS" \
		 -artifact_prefix="$work/" "$work" 2>&1); then
		echo "PASS $name ($RUNS runs)"
		passed=$((passed + 1))
	else
		echo "FAIL $name: $(grep -m1 -E 'ERROR|SUMMARY|abort' <<<"$out")"
		echo "$out" | tail -n 15 | sed 's/^/    /'
		failed=$((failed + 1))
	fi
	rm -rf "$work"
done
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
