#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# `make fuzz`: every harness in tests/fuzz for FUZZ_TIME seconds (default
# 60) over its corpus in tests/fuzz/corpus/NAME, which keeps the inputs
# libFuzzer finds (commit the new ones worth keeping). Each input has
# FUZZ_INPUT_TIMEOUT seconds (default 10): a slow input is a failure. The
# config harness takes inputs up to 1 MB (a config the daemon accepts can be
# that large). Not part of tests/run, which runs tests/fuzz/smoke.sh.
set -u
cd "$(dirname "$0")/../.." || exit 1
TIME=${FUZZ_TIME:-60}
INPUT_TIMEOUT=${FUZZ_INPUT_TIMEOUT:-10}
failed=0

for src in tests/fuzz/fuzz_*.c; do
	name=$(basename "$src" .c)
	corpus=tests/fuzz/corpus/${name#fuzz_}
	max_len=65536
	[ "$name" = fuzz_config ] && max_len=$((1 << 20))
	mkdir -p "$corpus" build/fuzz/artifacts
	echo "== $name: ${TIME} s, inputs up to $max_len bytes, ${INPUT_TIMEOUT} s each"
	"build/fuzz/$name" -max_total_time="$TIME" -timeout="$INPUT_TIMEOUT" \
		-max_len="$max_len" -artifact_prefix="build/fuzz/artifacts/$name-" \
		-print_final_stats=1 "$corpus" >"build/fuzz/$name.log" 2>&1 ||
		failed=$((failed + 1))
	tail -n 12 "build/fuzz/$name.log"
done
[ "$failed" = 0 ] || { echo "$failed harness(es) failed; see build/fuzz/artifacts/"; exit 1; }
