#!/bin/sh
# All benchmarks (make bench).  Each prints its own figures.
set -eu
VMIE=${1:-build/vmie}
cd "$(dirname "$0")/.."
bench/convert.sh "$VMIE" "${BENCH_GIB:-4}"
for b in bench/*/run.sh; do
	[ -x "$b" ] && "$b" "$VMIE"
done
