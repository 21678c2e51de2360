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
# 3. per-phase breakdown of the library-only cost (when bench_raft_phases is
#    built: bench_raft.c with its calls wrapped by bench/r1_phases.h): propose,
#    leader step, leader ready (has_ready + ready + advance + ready_empty),
#    follower step, follower ready, tick (the final heartbeat round), per
#    committed entry, with calls per entry;
# 4. the peer, when bench_canonical_raft is built (Debian's libraft-dev found
#    by pkg-config at configure time): canonical/raft 0.15 under the same R1
#    rules, W = 1, W = 64 (one entry per raft_apply) and W = 64 batched (64
#    per raft_apply); wall clock in this same run, and callgrind with
#    --separate-callers so that the harness callbacks the library makes can be
#    subtracted per phase: library = inclusive cost of the harness's calls
#    into the library (peer_lib_*) - those functions' own instructions - the
#    inclusive cost of the harness callbacks (peer_io_*, peer_fsm_*, peer_cb_*)
#    run inside them. libunitypes calls no harness code, so for it the same
#    rule is the sum of the ut_* inclusive costs.
# Prints Markdown tables for docs/BENCHMARKS.md.
set -eu

BUILD=${1:-build/default}
BIN="$BUILD/bench/bench_raft"
PHASES="$BUILD/bench/bench_raft_phases"
PEER="$BUILD/bench/bench_canonical_raft"
N_CG=20000
if [ ! -x "$BIN" ]; then
    echo "run_r1.sh: $BIN not found; build first (cmake --build $BUILD)" >&2
    exit 2
fi
command -v valgrind >/dev/null || { echo "run_r1.sh: valgrind not found" >&2; exit 2; }

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# cg_fn FILE incl|self: "cost name" per function of a callgrind output (per
# context chain "f'caller'caller..." with --separate-callers), inclusive or
# exclusive. callgrind_annotate may list a function's parts per source file
# (code inlined from a header): the inclusive cost is the largest part, the
# exclusive cost the sum of the parts.
cg_fn() {
    if [ "$2" = incl ]; then inc=yes; else inc=no; fi
    callgrind_annotate --inclusive=$inc --threshold=100 --auto=no "$1" |
        awk -v mode="$2" '
            /PROGRAM TOTALS/ { next }
            /^ *[0-9][0-9,]* +\(/ {
                c = $1; gsub(",", "", c); s = $0
                sub(/^ *[0-9,]+ +\([^)]*\) +/, "", s)
                sub(/ \[[^]]*\]$/, "", s)
                sub(/^[^:]*:/, "", s)
                if (mode == "incl") { if (c + 0 > v[s] + 0) v[s] = c + 0 }
                else v[s] += c
            }
            END { for (f in v) printf "%.0f %s\n", v[f], f }'
}

# cg_total FILE: every event collected.
cg_total() {
    callgrind_annotate --threshold=100 --auto=no "$1" |
        awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1; exit }'
}

# lib_ut FILE.incl: library-only cost of libunitypes: the inclusive costs of
# the public ut_* functions ("ut__" are private and already inside them). The
# public functions do not call one another on these paths, so the sum counts
# nothing twice (cross-checked against a run with
# --toggle-collect='ut_consensus_*').
lib_ut() {
    awk '$2 ~ /^ut_[a-z][a-z0-9_]*$/ { s[$2] = $1 }
         END { for (f in s) printf "%d %s\n", s[f], f }' "$1" | sort -rn
}

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
    total=$(cg_total "$TMP/cg.$W")
    cg_fn "$TMP/cg.$W" incl >"$TMP/incl.$W"
    lib_ut "$TMP/incl.$W" >"$TMP/lib.$W"
    echo "   inclusive cost of the ut_* calls:"
    sed 's/^/     /' "$TMP/lib.$W"
    lib=$(awk '{ s += $1 } END { printf "%d", s }' "$TMP/lib.$W")
    echo "$W $total $lib" >>"$TMP/cg.txt"
done

COMMAS='function commas(x,   s) { s = sprintf("%d", x + 0.5);
            while (s ~ /[0-9][0-9][0-9][0-9]/) sub(/[0-9][0-9][0-9]($|,)/, ",&", s);
            return s }'

echo
echo "| library     | W  | instr./entry total | library only | entries/s (median) | msgs/entry |"
echo "|-------------|----|--------------------|--------------|--------------------|------------|"
while read -r W total lib; do
    awk -v W="$W" -v t="$total" -v l="$lib" -v n="$N_CG" "$COMMAS"'
        $1 == W { eps = $2; mpe = $3 }
        END { printf "| libunitypes | %-2s | %18s | %12s | %16.2f M | %10s |\n",
              W, commas(t / n), commas(l / n), eps / 1e6, mpe }' "$TMP/timing.txt"
done <"$TMP/cg.txt"

# ---- 3. per-phase breakdown of libunitypes ---------------------------------

# phase_table NAME: prints the phase table from $TMP/ph.<W> files
# ("phase cost calls" per line, costs and calls per committed entry).
phase_table() {
    echo
    echo "$1, library instructions per committed entry (calls per entry), N = $N_CG:"
    echo
    echo "| phase | W = 1 | W = 64 |"
    echo "| --- | --- | --- |"
    awk "$COMMAS"'
        FNR == 1 { f++ }
        { if (!($1 in seen)) { seen[$1] = 1; order[++n] = $1 }
          c[$1, f] = $2; k[$1, f] = $3 }
        END { for (i = 1; i <= n; i++) { p = order[i]; line = "| " p
                  gsub("_", " ", line)
                  for (j = 1; j <= 2; j++)
                      line = line sprintf(" | %s%s", commas(c[p, j]),
                                          k[p, j] == "-" ? "" : sprintf(" (%.2f)", k[p, j]))
                  print line " |" } }' "$TMP/ph.1" "$TMP/ph.64"
}

if [ -x "$PHASES" ]; then
    for W in 1 64; do
        echo "== callgrind, phases (bench_raft_phases, N = $N_CG, W = $W)"
        valgrind --tool=callgrind --toggle-collect=r1_workload \
            --callgrind-out-file="$TMP/cgp.$W" "$PHASES" --callgrind -w "$W" \
            >"$TMP/cgp.$W.out" 2>"$TMP/cgp.$W.err"
        if grep -q "CHECK FAILED" "$TMP/cgp.$W.out"; then
            echo "run_r1.sh: the R1 check failed under callgrind (phases): no figures" >&2
            exit 1
        fi
        cg_fn "$TMP/cgp.$W" incl >"$TMP/pincl.$W"
        cg_fn "$TMP/cgp.$W" self >"$TMP/pself.$W"
        lib_ut "$TMP/pincl.$W" >"$TMP/plib.$W"
        grep '^r1_phases calls:' "$TMP/cgp.$W.err" | tr ' ' '\n' | grep '=' >"$TMP/pcalls.$W" || :
        # A wrapper's library cost: its inclusive cost minus its own.
        awk -v n="$N_CG" -v libfile="$TMP/plib.$W" -v callfile="$TMP/pcalls.$W" '
            function phase(f) {
                if (f == "propose") return "propose"
                if (f ~ /tick$/) return "tick"
                if (f ~ /^leader_step/) return "leader_step"
                if (f ~ /^follower_step/) return "follower_step"
                if (f ~ /^leader_/) return "leader_ready"
                return "follower_ready"
            }
            BEGIN {
                while ((getline l < libfile) > 0) { split(l, a, " "); lib += a[1] }
                while ((getline l < callfile) > 0) { split(l, a, "="); calls[a[1]] = a[2] }
            }
            FILENAME ~ /pincl/ && $2 ~ /^r1ph_[a-z_]+$/ { inc[substr($2, 6)] = $1 }
            FILENAME ~ /pself/ && $2 ~ /^r1ph_[a-z_]+$/ { self[substr($2, 6)] = $1 }
            END {
                split("propose leader_step leader_ready follower_step follower_ready tick", ord, " ")
                for (f in inc) { v = inc[f] - self[f]; p = phase(f)
                    cost[p] += v; k[p] += calls[f]; sum += v
                    detail[f] = v }
                for (i = 1; i <= 6; i++)
                    printf "%s %.1f %.4f\n", ord[i], cost[ord[i]] / n, k[ord[i]] / n
                printf "other_(calls_not_wrapped) %.1f -\n", (lib - sum) / n
                printf "library_only %.1f -\n", lib / n
                for (f in detail)
                    printf "%s %.1f %.4f\n", f, detail[f] / n, calls[f] / n > "/dev/stderr"
            }' "$TMP/pincl.$W" "$TMP/pself.$W" >"$TMP/ph.$W" 2>"$TMP/phd.$W"
        sort -k1,1 "$TMP/phd.$W" >"$TMP/phd.$W.s"
    done
    phase_table "Per-phase breakdown, libunitypes (bench_raft_phases)"
    mv "$TMP/phd.1.s" "$TMP/ph.1"
    mv "$TMP/phd.64.s" "$TMP/ph.64"
    phase_table "The same by call (role_call)"
else
    echo
    echo "(per-phase breakdown skipped: $PHASES not built)"
fi

# ---- 4. the peer: canonical/raft 0.15 --------------------------------------

if [ ! -x "$PEER" ]; then
    echo
    echo "(peer skipped: $PEER not built; it is built when pkg-config finds raft, e.g. Debian's libraft-dev)"
    exit 0
fi

echo
echo "== peer wall clock: canonical/raft (N = 100000, median of 5)"
"$PEER" | tee "$TMP/ptiming.txt"
if grep -q "CHECK FAILED" "$TMP/ptiming.txt"; then
    echo "run_r1.sh: the R1 check failed for the peer: no peer figures" >&2
    exit 1
fi

: >"$TMP/pcg.txt"
for cfg in "1 single" "64 single" "64 batch"; do
    # shellcheck disable=SC2086 # split "W MODE"
    set -- $cfg
    W=$1 MODE=$2
    flag=
    [ "$MODE" = batch ] && flag=-b
    tag="$W.$MODE"
    echo "== peer callgrind (N = $N_CG, W = $W, $MODE)"
    valgrind --tool=callgrind --toggle-collect=r1_workload --separate-callers=40 \
        --callgrind-out-file="$TMP/pcg.$tag" "$PEER" --callgrind -w "$W" ${flag:+"$flag"} \
        >"$TMP/pcg.$tag.out" 2>"$TMP/pcg.$tag.err"
    cat "$TMP/pcg.$tag.out"
    if grep -q "CHECK FAILED" "$TMP/pcg.$tag.out"; then
        echo "run_r1.sh: the R1 check failed for the peer under callgrind: no peer figures" >&2
        exit 1
    fi
    total=$(cg_total "$TMP/pcg.$tag")
    cg_fn "$TMP/pcg.$tag" incl >"$TMP/pqi.$tag"
    cg_fn "$TMP/pcg.$tag" self >"$TMP/pqs.$tag"
    grep '^peer calls:' "$TMP/pcg.$tag.err" | tr ' ' '\n' | grep '=' >"$TMP/pqc.$tag" || :
    # Per context chain: a peer_lib_X chain is a call into the library (X
    # names the call and the role); a peer_io_/peer_fsm_/peer_cb_ chain is a
    # harness callback, charged to the first peer_lib_X up its chain.
    awk -v n="$N_CG" -v callfile="$TMP/pqc.$tag" -v out="$TMP/pph.$tag" '
        function phase(x) {
            if (x == "alloc" || x == "apply") return "propose"
            if (x ~ /^tick/) return "tick"
            if (x == "recv_leader") return "leader_step"
            if (x == "recv_follower") return "follower_step"
            if (x == "done_leader") return "leader_ready"
            return "follower_ready"
        }
        BEGIN {
            while ((getline l < callfile) > 0) { split(l, a, "="); calls[phase(a[1])] += a[2] }
        }
        {
            m = split($2, ch, "\047")
            if (ch[1] ~ /^peer_lib_/) {
                p = phase(substr(ch[1], 10))
                if (FILENAME ~ /pqi/) cost[p] += $1; else cost[p] -= $1
            } else if (FILENAME ~ /pqi/ && ch[1] ~ /^peer_(io|fsm|cb)_/) {
                for (i = 2; i <= m; i++)
                    if (ch[i] ~ /^peer_lib_/) {
                        p = phase(substr(ch[i], 10)); cost[p] -= $1; cb[p] += $1; cbs += $1
                        break
                    }
            }
        }
        END {
            split("propose leader_step leader_ready follower_step follower_ready tick", ord, " ")
            for (i = 1; i <= 6; i++) {
                p = ord[i]; lib += cost[p]
                printf "%s %.1f %.4f\n", p, cost[p] / n, calls[p] / n > out
            }
            printf "harness_callbacks_inside_(subtracted) %.1f -\n", cbs / n > out
            printf "library_only %.1f -\n", lib / n > out
            printf "%.0f\n", lib
        }' "$TMP/pqi.$tag" "$TMP/pqs.$tag" >"$TMP/plib.$tag"
    echo "$W $MODE $total $(cat "$TMP/plib.$tag")" >>"$TMP/pcg.txt"
done

echo
echo "Per-phase breakdown, canonical/raft 0.15 (bench_canonical_raft), library instructions"
echo "per committed entry (calls into the library per entry), N = $N_CG; step = its recv"
echo "callback, ready = completing its send/append requests, propose = raft_malloc + raft_apply:"
echo
echo "| phase | W = 1 | W = 64, one entry per raft_apply | W = 64, 64 per raft_apply |"
echo "| --- | --- | --- | --- |"
awk "$COMMAS"'
    FNR == 1 { f++ }
    { if (!($1 in seen)) { seen[$1] = 1; order[++n] = $1 }
      c[$1, f] = $2; k[$1, f] = $3 }
    END { for (i = 1; i <= n; i++) { p = order[i]; line = "| " p
              gsub("_", " ", line)
              for (j = 1; j <= 3; j++)
                  line = line sprintf(" | %s%s", commas(c[p, j]),
                                      k[p, j] == "-" ? "" : sprintf(" (%.2f)", k[p, j]))
              print line " |" } }' "$TMP/pph.1.single" "$TMP/pph.64.single" "$TMP/pph.64.batch"

echo
echo "R1 in this run, ours and the peer (instructions: callgrind, N = $N_CG; entries/s: N = 100000, median of 5):"
echo
echo "| library | W | proposals | instr./entry total | library only | entries/s | msgs/entry |"
echo "|---|---|---|---|---|---|---|"
while read -r W total lib; do
    awk -v W="$W" -v t="$total" -v l="$lib" -v n="$N_CG" "$COMMAS"'
        $1 == W { eps = $2; mpe = $3 }
        END { printf "| libunitypes | %s | one per call | %s | %s | %.2f M | %s |\n",
              W, commas(t / n), commas(l / n), eps / 1e6, mpe }' "$TMP/timing.txt"
done <"$TMP/cg.txt"
while read -r W MODE total lib; do
    awk -v W="$W" -v M="$MODE" -v t="$total" -v l="$lib" -v n="$N_CG" "$COMMAS"'
        $1 == W && $2 == M { eps = $3; mpe = $4 }
        END { printf "| canonical/raft 0.15 | %s | %s | %s | %s | %.2f M | %s |\n",
              W, M == "batch" ? W " per raft_apply" : "one per raft_apply",
              commas(t / n), commas(l / n), eps / 1e6, mpe }' "$TMP/ptiming.txt"
done <"$TMP/pcg.txt"

echo
echo "Ratios, canonical/raft / libunitypes (library-only instructions, total instructions;"
echo "entries/s: libunitypes / canonical/raft), against libunitypes at the same W:"
echo
echo "| W | canonical/raft proposals | library only | total | entries/s |"
echo "|---|---|---|---|---|"
while read -r W MODE total lib; do
    ours=$(awk -v W="$W" '$1 == W { print $2, $3 }' "$TMP/cg.txt")
    ours_eps=$(awk -v W="$W" '$1 == W { print $2 }' "$TMP/timing.txt")
    peer_eps=$(awk -v W="$W" -v M="$MODE" '$1 == W && $2 == M { print $3 }' "$TMP/ptiming.txt")
    echo "$ours" | awk -v W="$W" -v M="$MODE" -v t="$total" -v l="$lib" \
        -v oe="$ours_eps" -v pe="$peer_eps" '
        { printf "| %s | %s | %.2fx | %.2fx | %.2fx |\n", W,
              M == "batch" ? W " per raft_apply" : "one per raft_apply",
              l / $2, t / $1, oe / pe }'
done <"$TMP/pcg.txt"
