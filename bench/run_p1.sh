#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# P1: bench_partition's table, then instructions per lookup under callgrind
# (totals with LOOKUPS lookups minus totals with 0, divided by LOOKUPS).
# usage: bench/run_p1.sh <build-dir> [keys]
set -euo pipefail
b=${1:-build/ci}/bench/bench_partition
"$b" "${2:-1000000}"
echo
echo "instructions per lookup (callgrind):"
tot() {
    valgrind --tool=callgrind --callgrind-out-file=/tmp/p1.cg.$$ "$b" --callgrind "$@" >/dev/null 2>&1
    callgrind_annotate /tmp/p1.cg.$$ | awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1 }'
    rm -f /tmp/p1.cg.$$
}
for spec in "ring 100" "ring 1000" "jump 100" "jump 1000" "maglev 100" "maglev 1000" \
    "hrw 100" "ring160 100" "ring160 1000" "jumppeer 100" "jumppeer 1000" "ketama 100" \
    "partitioner 100" "partitioner 1000" "range 1"; do
    set -- $spec
    m=20000
    t1=$(tot "$1" "$2" $m) || continue
    t0=$(tot "$1" "$2" 0) || continue
    [ "$1" = range ] && m=$((m / 5 * 5 + 5)) # range_bench runs 5 x (m/5 + 1)
    echo "$1 $2 nodes: $(((t1 - t0) / m)) instructions/lookup"
done
