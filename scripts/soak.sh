#!/usr/bin/env bash
# Chaos soak: scripts/soak.sh [MINUTES] [extra `ilinkd soak` flags, e.g. --seed N --rate 200]
# Runs the simulator, `ilinkd run` and continuous `ilinkd load` under random faults (gaps,
# NotApplied, drops, lapses, Terminates, duplicates, failover jumps, kill -9, simulator
# restarts; every kind once per 10 epochs of 8 s), then
# prints one `INVARIANT <name> ok|FAIL <detail>` line per invariant; exits 1 on any FAIL.
# PROFILE=release builds and runs the release binary (default: the debug build).
set -euo pipefail
cd "$(dirname "$0")/.."
minutes="${1:-10}"
shift || true
profile="${PROFILE:-debug}"
if [ "$profile" = release ]; then
    cargo build --release --bin ilinkd
else
    cargo build --bin ilinkd
fi
target="${CARGO_TARGET_DIR:-target}"
exec "$target/$profile/ilinkd" soak --seconds "$((minutes * 60))" "$@"
