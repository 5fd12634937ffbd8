#!/usr/bin/env bash
# Run every fuzz/property target for SECONDS seconds each (default 60) and print, per target,
# executions and crashes. Targets run concurrently (JOBS at a time, default: all of them), so
# `scripts/fuzz.sh 600` takes about ten minutes of wall time when JOBS covers every target.
#
#   scripts/fuzz.sh SECONDS [TARGET-FILTER]
#
# A crashing input is shrunk and written to target/fuzz-crashes/<target>/; add it to
# testdata/fuzz/<target>/ as a regression seed once fixed. Exit status: 0 when no target crashed.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
filter="${2:-fuzz_}"
case "$seconds" in (*[!0-9]*|'') echo "usage: scripts/fuzz.sh SECONDS [TARGET-FILTER]" >&2; exit 2;; esac
jobs="${JOBS:-32}"
cargo test --test fuzz --no-run --quiet
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
status=0
AIRLOCK_FUZZ_SECONDS="$seconds" RUST_BACKTRACE=0 \
  cargo test --quiet --test fuzz "$filter" -- --nocapture --test-threads="$jobs" >"$log" 2>&1 || status=$?
grep -oE 'fuzz target .*' "$log" | sort || true
if [ "$status" -ne 0 ]; then
  echo "--- failures ---"
  grep -E "crash\(es\)|panicked" "$log" | head -40 || true
  echo "fuzz: at least one target crashed (inputs in target/fuzz-crashes/)" >&2
  exit 1
fi
echo "fuzz: every target ran ${seconds}s with no crash"
