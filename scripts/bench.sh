#!/usr/bin/env bash
# Runs the benchmarks under bench/ (all, or those whose name contains FILTER) in release mode and
# prints their `RESULT <name> <value> <unit>` lines.
#   scripts/bench.sh            every benchmark
#   scripts/bench.sh hmac       only bench/hmac.rs
# Set BENCH_VERBOSE=1 to see the benchmarks' other output too.
set -euo pipefail
cd "$(dirname "$0")/.."
filter="${1:-}"
benches=$(sed -n '/^\[\[bench\]\]/,/^$/s/^name *= *"\(.*\)"/\1/p' Cargo.toml)
ran=0
for b in $benches; do
  if [[ -n "$filter" && "$b" != *"$filter"* ]]; then continue; fi
  ran=1
  echo "== bench $b" >&2
  if [[ "${BENCH_VERBOSE:-0}" == 1 ]]; then
    cargo bench --quiet --bench "$b"
  else
    cargo bench --quiet --bench "$b" | grep -E '^(RESULT|#) '
  fi
done
if [[ $ran == 0 ]]; then
  echo "no benchmark matches '$filter' (have: $(echo $benches))" >&2
  exit 2
fi
