#!/usr/bin/env bash
# Render a utsim HTML report to a PNG with headless Chromium, to look at it
# as a reader would (apt-get install -y chromium). Not run by CI.
#   tools/report-screenshot.sh REPORT.html OUT.png [WIDTHxHEIGHT]
set -euo pipefail
if [ $# -lt 2 ]; then
  echo "usage: $0 REPORT.html OUT.png [WIDTHxHEIGHT]" >&2
  exit 2
fi
browser=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
if [ -z "$browser" ]; then
  echo "$0: no Chromium found (apt-get install -y chromium)" >&2
  exit 3
fi
size=${3:-1400x2400}
in=$(realpath "$1")
out=$(realpath -m "$2")
# --no-sandbox: the report is our own local file, and root cannot sandbox.
timeout 120 "$browser" --headless=new --no-sandbox --disable-gpu --hide-scrollbars \
  --window-size="${size/x/,}" --screenshot="$out" "file://$in" 2>/dev/null
test -s "$out"
echo "$out"
