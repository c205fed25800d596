#!/usr/bin/env bash
# Runs the benchmarks under bench/ (all, or those whose name contains FILTER) in release mode and
# prints their `RESULT <name> <value> <unit>` lines. Every headline is a median (the best batch,
# where a benchmark keeps it, is an extra `<name>.best` line).
#   scripts/bench.sh            every benchmark; also writes bench/RESULTS.md
#   scripts/bench.sh hmac       only bench/hmac.rs
# Set BENCH_VERBOSE=1 to see the benchmarks' other output too.
set -euo pipefail
cd "$(dirname "$0")/.."
filter="${1:-}"
benches=$(sed -n '/^\[\[bench\]\]/,/^$/s/^name *= *"\(.*\)"/\1/p' Cargo.toml)
ran=0
out=$(mktemp)
trap 'rm -f "$out"' EXIT
for b in $benches; do
  if [[ -n "$filter" && "$b" != *"$filter"* ]]; then continue; fi
  ran=1
  echo "== bench $b" >&2
  if [[ "${BENCH_VERBOSE:-0}" == 1 ]]; then
    cargo bench --quiet --bench "$b" | tee -a "$out"
  else
    cargo bench --quiet --bench "$b" | grep -E '^(RESULT|#) ' | tee -a "$out"
  fi
done
if [[ $ran == 0 ]]; then
  echo "no benchmark matches '$filter' (have: $(echo $benches))" >&2
  exit 2
fi
if [[ -z "$filter" ]]; then
  {
    echo "# Benchmark results"
    echo
    echo "Written by \`scripts/bench.sh\` on $(date -u +%Y-%m-%dT%H:%M:%SZ). Headlines are medians."
    echo
    echo "- Commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD 2>/dev/null || echo ' (with uncommitted changes)')"
    echo "- CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//') ($(nproc) cores, $(grep -m1 'cpu MHz' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//') MHz)"
    echo "- Kernel: $(uname -srm)"
    echo "- Rust: $(rustc --version)"
    echo "- Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo
    echo '```'
    grep -E '^RESULT ' "$out"
    echo '```'
  } > bench/RESULTS.md
  echo "wrote bench/RESULTS.md" >&2
fi
