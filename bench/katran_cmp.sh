#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# xlb against Katran (bench/katran_cmp.c): builds Katran's XDP balancer from
# a checkout of its public source (KATRAN_SRC) the way Katran's own
# katran/lib/Makefile-bpf does, default features (no feature -D), and times
# it beside xlb_xdp. Katran's code is never part of xlb: without KATRAN_SRC
# this prints SKIP. Arguments go to katran_cmp (-r ROUNDS -n REPEAT -f WORDS);
# QUICK=1 passes -q.
set -u -o pipefail
cd "$(dirname "$0")/.." || exit 1
if [ -z "${KATRAN_SRC:-}" ]; then
	echo "SKIP katran_cmp: KATRAN_SRC not set (a checkout of github.com/facebookincubator/katran)"
	exit 0
fi
src=$KATRAN_SRC/katran/lib/bpf/balancer_kern.c
if [ ! -f "$src" ]; then
	echo "SKIP katran_cmp: no $src (KATRAN_SRC must be a checkout of github.com/facebookincubator/katran)"
	exit 0
fi
out=build/bench/katran
mkdir -p "$out"
# Makefile-bpf: clang ... -DDEBUG -D__KERNEL__ -Wno-unused-value
# -Wno-pointer-sign -Wno-compare-distinct-pointer-types -O2 -emit-llvm -c -g
# | llc -march=bpf -filetype=obj. Its include paths: the checkout's root
# (katran/lib/... includes), and the bpf and linux_includes folders (the
# older relative includes); the arch folder for <asm/types.h>.
if ! clang -I"$KATRAN_SRC" -I"$KATRAN_SRC/katran/lib/bpf" \
	-I"$KATRAN_SRC/katran/lib/linux_includes" \
	-I"/usr/include/$(gcc -dumpmachine)" \
	-DDEBUG -D__KERNEL__ -Wno-unused-value -Wno-pointer-sign \
	-Wno-compare-distinct-pointer-types \
	-O2 -emit-llvm -c -g "$src" -o - 2>"$out/build.log" |
	llc -march=bpf -filetype=obj -o "$out/balancer_kern.o"; then
	echo "| katran_cmp | - | - | FAIL: cannot build $src (see $out/build.log) |"
	exit 1
fi
make -s build/bench/katran_cmp || exit 1
q=()
[ -n "${QUICK:-}" ] && [ "$QUICK" != 0 ] && q=(-q)
# bench/run's rows file (latest.json), as bench/lib.sh's bench_row.
[ -n "${BENCH_JSONL:-}" ] && q+=(-j "$BENCH_JSONL")
exec ./build/bench/katran_cmp -k "$out/balancer_kern.o" "${q[@]}" "$@"
