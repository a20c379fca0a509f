#!/usr/bin/env bash
# Headless Chromium screenshot of a rendered report, to eyeball layout without a desktop.
# Usage: benchmarks/screenshot_report.sh REPORT_HTML OUT_PNG [WIDTH,HEIGHT]
set -euo pipefail

if [[ $# -lt 2 ]]; then
    echo "usage: $0 REPORT_HTML OUT_PNG [WIDTH,HEIGHT]" >&2
    exit 2
fi
html=$(realpath "$1")
out=$(realpath -m "$2")
size=${3:-1200,3000}
browser=$(command -v chromium || command -v chromium-browser || true)
if [[ -z $browser ]]; then
    echo "chromium not found (Debian/Ubuntu: apt-get install -y chromium)" >&2
    exit 1
fi
# A throwaway profile keeps runs independent; the network flags stop Chromium phoning home,
# which matters on machines with no internet where those requests would only stall.
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
"$browser" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$profile" --window-size="$size" --screenshot="$out" "file://$html"
echo "$out"
