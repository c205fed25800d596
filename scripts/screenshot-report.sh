#!/usr/bin/env bash
# Renders `ilinkd report --html` for interval log(s) and screenshots the page in headless
# Chromium (Debian package `chromium`), to check how the report reads.
#   scripts/screenshot-report.sh LOG [LOG...] OUT.png
# Extra `ilinkd report` options can be passed in REPORT_ARGS (e.g. REPORT_ARGS="--tag 'a.*'").
# Not used by `cargo test`: CI may not have Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ $# -lt 2 ]]; then
  echo "usage: $0 LOG [LOG...] OUT.png" >&2
  exit 2
fi
out="${*: -1}"
logs=("${@:1:$#-1}")
browser=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
if [[ -z "$browser" ]]; then
  echo "no chromium found (apt-get install -y chromium)" >&2
  exit 1
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
html="$work/report.html"
# shellcheck disable=SC2086
cargo run --quiet -- report "${logs[@]}" ${REPORT_ARGS:-} --html "$html" >&2
case "$out" in /*) ;; *) out="$PWD/$out" ;; esac
"$browser" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync \
  --user-data-dir="$work/profile" --hide-scrollbars \
  --screenshot="$out" --window-size=1400,1800 "file://$html" 2>"$work/chromium.log" || {
  cat "$work/chromium.log" >&2
  exit 1
}
[[ -s "$out" ]] || { echo "no screenshot written" >&2; cat "$work/chromium.log" >&2; exit 1; }
echo "$out"
