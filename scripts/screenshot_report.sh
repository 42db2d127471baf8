#!/usr/bin/env bash
# Prep/inspection only: render a run's report.html in headless Chromium and save a PNG, to look
# at what a reader sees. Installs Debian's chromium when missing (root, network to Debian).
# usage: scripts/screenshot_report.sh [RUN_DIR=reports/latest] [OUT=report.png]
set -euo pipefail
run_dir="${1:-reports/latest}"
out="${2:-report.png}"
if ! command -v chromium >/dev/null; then
  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium
fi
profile="$(mktemp -d)"
chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync \
  --user-data-dir="$profile" --window-size=1400,2400 \
  --screenshot="$out" "file://$(realpath "$run_dir")/report.html" 2>/dev/null
rm -rf "$profile"
echo "wrote $out"
