#!/bin/sh
# SPDX-License-Identifier: MIT
# Workload R1 (BENCHMARKS.md): 3-node in-memory Raft commit.
#
#   bench/run_r1.sh [build-dir]      (default: build/default)
#
# 1. wall clock: bench_raft, N = 100,000, W = 1 and W = 64, median of 5 runs;
# 2. instructions: bench_raft --callgrind (N = 20,000) under
#    valgrind --tool=callgrind --toggle-collect=r1_workload, once per W.
#    total   = every instruction executed inside r1_workload;
#    library = sum of the inclusive costs of the public ut_* functions
#              (callgrind_annotate --inclusive=yes), i.e. what the harness's
#              calls into libunitypes cost, without the harness's own copying.
# Prints a Markdown table for docs/BENCHMARKS.md.
set -eu

BUILD=${1:-build/default}
BIN="$BUILD/bench/bench_raft"
N_CG=20000
if [ ! -x "$BIN" ]; then
    echo "run_r1.sh: $BIN not found; build first (cmake --build $BUILD)" >&2
    exit 2
fi
command -v valgrind >/dev/null || { echo "run_r1.sh: valgrind not found" >&2; exit 2; }

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

echo "== wall clock (N = 100000, median of 5)"
"$BIN" | tee "$TMP/timing.txt"
if grep -q "CHECK FAILED" "$TMP/timing.txt"; then
    echo "run_r1.sh: the R1 check failed: no figures" >&2
    exit 1
fi

for W in 1 64; do
    echo "== callgrind (N = $N_CG, W = $W)"
    valgrind --tool=callgrind --toggle-collect=r1_workload \
        --callgrind-out-file="$TMP/cg.$W" "$BIN" --callgrind -w "$W" \
        >"$TMP/cg.$W.out" 2>"$TMP/cg.$W.err"
    cat "$TMP/cg.$W.out"
    if grep -q "CHECK FAILED" "$TMP/cg.$W.out"; then
        echo "run_r1.sh: the R1 check failed under callgrind: no figures" >&2
        exit 1
    fi
    callgrind_annotate --inclusive=yes --threshold=100 --auto=no "$TMP/cg.$W" >"$TMP/ann.$W"
    # Total: every event collected (only inside r1_workload).
    total=$(awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1; exit }' "$TMP/ann.$W")
    # Library only: inclusive cost of the public ut_* functions ("ut__" are
    # private and already inside them). callgrind_annotate may also list a
    # function's inlined parts per header ("log.h:ut_consensus_step", a
    # subset of the whole): the largest line per function is its inclusive
    # cost. The public functions do not call one another on these paths, so
    # the sum counts nothing twice (cross-checked against a run with
    # --toggle-collect='ut_consensus_*').
    awk '/:ut_[a-z]/ {
            fn = $0; sub(/ \[[^]]*\]$/, "", fn); sub(/^.*:/, "", fn);
            if (fn ~ /^ut_[a-z][a-z0-9_]*$/) { v = $1; gsub(",", "", v);
                if (v + 0 > s[fn] + 0) s[fn] = v } }
         END { for (f in s) printf "%d %s\n", s[f], f }' "$TMP/ann.$W" |
        sort -rn >"$TMP/lib.$W"
    echo "   inclusive cost of the ut_* calls:"
    sed 's/^/     /' "$TMP/lib.$W"
    lib=$(awk '{ s += $1 } END { printf "%d", s }' "$TMP/lib.$W")
    echo "$W $total $lib" >>"$TMP/cg.txt"
done

echo
echo "| library     | W  | instr./entry total | library only | entries/s (median) | msgs/entry |"
echo "|-------------|----|--------------------|--------------|--------------------|------------|"
while read -r W total lib; do
    awk -v W="$W" -v t="$total" -v l="$lib" -v n="$N_CG" '
        function commas(x,   s) { s = sprintf("%d", x + 0.5);
            while (s ~ /[0-9][0-9][0-9][0-9]/) sub(/[0-9][0-9][0-9]($|,)/, ",&", s);
            return s }
        $1 == W { eps = $2; mpe = $3 }
        END { printf "| libunitypes | %-2s | %18s | %12s | %16.2f M | %10s |\n",
              W, commas(t / n), commas(l / n), eps / 1e6, mpe }' "$TMP/timing.txt"
done <"$TMP/cg.txt"
