#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# G1 side by side (issue 16): ut_gossip_t and hashicorp/memberlist over one
# fault schedule (bench/peers/gossip_schedule.c writes it, both read it),
# one analysis of both event logs, printed as a markdown table.
#
#   bench/run_g1_memberlist.sh [gen key=value ...]
#       defaults: n=50 seed=1 secs=90 period=200 (timeout 100) loss=5
#       stall_pct=10 stall_ms=400 stall_every=6000 crash_every=10000
#   BUILD=build/ci  OUT=$BUILD/g1_memberlist  ML_FLAGS="-compress"  (env)
#
# ut_gossip_t runs in simulated time (well under a second); memberlist runs
# on the wall clock, so the run takes secs + ~10 s. The memberlist part
# needs `go` and Debian's golang-github-hashicorp-memberlist-dev (GOPATH
# mode, offline, from /usr/share/gocode); without them it is skipped with a
# message and only ut_gossip_t's columns are printed. Not part of the
# default build's tests or ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build/ci}
OUT=${OUT:-$BUILD/g1_memberlist}
GOCODE=${GOCODE:-/usr/share/gocode}
mkdir -p "$OUT"

if [ ! -f "$BUILD/CMakeCache.txt" ]; then
    cmake --preset ci >/dev/null
fi
cmake --build "$BUILD" -j2 --target gossip_schedule >/dev/null
GS="$BUILD/bench/gossip_schedule"

"$GS" gen n=50 seed=1 secs=90 period=200 "$@" >"$OUT/schedule.txt"
echo "schedule: $OUT/schedule.txt ($(grep -c '^crash' "$OUT/schedule.txt") crashes," \
    "$(grep -c '^stall' "$OUT/schedule.txt") stall windows)"

"$GS" run "$OUT/schedule.txt" "$OUT/ut_gossip.ev" lifeguard=1
"$GS" run "$OUT/schedule.txt" "$OUT/ut_gossip_nolg.ev" lifeguard=0
cols=("ut_gossip_t (simulated)" "$OUT/ut_gossip.ev"
    "ut_gossip_t, Lifeguard off" "$OUT/ut_gossip_nolg.ev")

if command -v go >/dev/null 2>&1 && [ -d "$GOCODE/src/github.com/hashicorp/memberlist" ]; then
    echo "memberlist: $(go version), $(dpkg-query -W -f='${Package} ${Version}' \
        golang-github-hashicorp-memberlist-dev 2>/dev/null || echo "$GOCODE")"
    GOPATH="$GOCODE" GO111MODULE=off GOFLAGS='' GOCACHE="${GOCACHE:-$(cd "$OUT" && pwd)/gocache}" \
        go build -o "$OUT/memberlist-g1" ./bench/peers/memberlist
    secs=$(awk '/^duration_ms/ {print $2 / 1000}' "$OUT/schedule.txt")
    echo "memberlist: running in real time (${secs} s + warm-up) ..."
    # shellcheck disable=SC2086
    "$OUT/memberlist-g1" -q ${ML_FLAGS:-} "$OUT/schedule.txt" "$OUT/memberlist.ev"
    grep '^# \(peer\|timer_lag\|log_errors\)' "$OUT/memberlist.ev" | sed 's/^# /memberlist: /'
    cols+=("memberlist 0.2.2 (wall clock${ML_FLAGS:+, $ML_FLAGS})" "$OUT/memberlist.ev")
else
    echo "memberlist: SKIPPED - needs \`go\` and Debian's golang-github-hashicorp-memberlist-dev" \
        "(apt-get install golang-go golang-github-hashicorp-memberlist-dev); ut_gossip_t only."
fi
echo
"$GS" analyze "$OUT/schedule.txt" "${cols[@]}"
