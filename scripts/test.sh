#!/usr/bin/env bash
# Runs the whole test suite: formatting, lints, unit, integration and end-to-end tests.
# Installs and starts what the tests need (Redis for the distributed queue tests) when missing.
set -euo pipefail
cd "$(dirname "$0")/.."

need_redis=1
if [ "${OCEAN_SKIP_REDIS:-0}" = "1" ]; then need_redis=0; fi
if [ "$need_redis" = "1" ] && ! command -v redis-server >/dev/null 2>&1; then
  echo "==> installing redis-server (needed by the Redis queue tests)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq redis-server >/dev/null
fi
# The Redis tests start their own redis-server on a free loopback port; they only need the binary.

echo "==> cargo fmt --check"
cargo fmt --all -- --check

echo "==> cargo clippy (all targets, warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "==> tests"
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --locked --no-fail-fast
  cargo test --workspace --locked --doc
else
  cargo test --workspace --locked --no-fail-fast
fi
