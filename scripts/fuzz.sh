#!/usr/bin/env bash
# Builds the fuzz targets under fuzz/ and runs each for RUNS executions, then prints one line per
# target:  FUZZ <target> <executions> execs <corpus files> corpus <crash|ok>
#   scripts/fuzz.sh                       every target, 10,000,000 executions each
#   scripts/fuzz.sh 200000 key_file       one target, 200,000 executions
# Environment:
#   FUZZ_JOBS=N        parallel fuzzing processes per target (default 1; RUNS is split among them)
#   FUZZ_SANITIZER=S   cargo fuzz sanitizer (default none: the decoders are safe Rust, where
#                      bounds and overflow checks already catch what ASan would; `address` works)
# Needs `cargo install cargo-fuzz`; runs on a stable toolchain through RUSTC_BOOTSTRAP=1.
# Seeds are in fuzz/corpus/<target>/ (committed); what the fuzzer adds goes to
# fuzz/corpus-grown/<target>/ and crashes to fuzz/artifacts/<target>/ (both ignored by git).
# Exit status 1 when any target crashed.
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-10000000}"
shift || true
jobs="${FUZZ_JOBS:-1}"
sanitizer="${FUZZ_SANITIZER:-none}"
export RUSTC_BOOTSTRAP=1
export CARGO_TARGET_DIR="$PWD/fuzz/target"
# glibc gives the heap top back to the kernel (brk) whenever more than 128 KiB is free, and
# serves 128 KiB+ blocks with mmap: a target that builds a session (128 KiB buffers) per input
# then spends most of its time in brk/munmap and page faults. Keep freed memory in the process.
export GLIBC_TUNABLES="${GLIBC_TUNABLES:+$GLIBC_TUNABLES:}glibc.malloc.trim_threshold=1073741824:glibc.malloc.mmap_threshold=33554432:glibc.malloc.top_pad=16777216"
if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "cargo-fuzz is missing: cargo install cargo-fuzz" >&2
  exit 2
fi
if [[ $# -gt 0 ]]; then
  targets=("$@")
else
  mapfile -t targets < <(cargo fuzz list)
fi
# Release build with debug assertions (integer overflow panics), one build for every target.
flags=(--release --debug-assertions --sanitizer "$sanitizer")
if [[ $# -eq 0 ]]; then
  cargo fuzz build "${flags[@]}" >&2
else
  for t in "${targets[@]}"; do cargo fuzz build "${flags[@]}" "$t" >&2; done
fi
per_job=$(( (runs + jobs - 1) / jobs ))
status=0
root="$PWD"
for t in "${targets[@]}"; do
  grown="$root/fuzz/corpus-grown/$t"
  seeds="$root/fuzz/corpus/$t"
  logs="$root/fuzz/target/fuzz-logs/$t"
  mkdir -p "$grown" "$seeds" "$logs" "$root/fuzz/artifacts/$t"
  rm -f "$logs"/*.log
  echo "== fuzz $t: $runs runs, $jobs job(s)" >&2
  args=(-runs="$per_job" -print_final_stats=1 -timeout=30 -artifact_prefix="$root/fuzz/artifacts/$t/")
  rc=0
  if [[ $jobs -gt 1 ]]; then
    # Each job is its own process and writes fuzz-<n>.log in the current folder.
    (cd "$logs" && cargo fuzz run --fuzz-dir "$root/fuzz" "${flags[@]}" "$t" "$grown" "$seeds" \
      -- "${args[@]}" -jobs="$jobs" -workers="$jobs" >/dev/null 2>&1) || rc=$?
    cat "$logs"/fuzz-*.log >"$logs/all.log" 2>/dev/null || true
  else
    cargo fuzz run "${flags[@]}" "$t" "$grown" "$seeds" -- "${args[@]}" >"$logs/all.log" 2>&1 || rc=$?
  fi
  execs=$(awk '/stat::number_of_executed_units:/ {s += $2} END {print s + 0}' "$logs/all.log")
  corpus=$(find "$grown" "$seeds" -type f | wc -l)
  if [[ $rc -ne 0 ]] || grep -qE '^==[0-9]+== ERROR|panicked at|deadly signal' "$logs/all.log"; then
    result=crash
    status=1
    grep -E 'panicked at|Test unit written to|ERROR' "$logs/all.log" | head -5 >&2 || true
  else
    result=ok
  fi
  echo "FUZZ $t $execs execs $corpus corpus $result"
done
exit $status
