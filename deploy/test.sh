#!/usr/bin/env bash
# The whole test suite, exactly as CI runs it: formatting, lints, benchmarks in short
# mode, then every test (real etcd included). The test runner's summary closes the output.
set -euo pipefail
cd "$(dirname "$0")/.."

# A one-shot build keeps no incremental caches: they doubled the disk the suite needs.
export CARGO_INCREMENTAL=0

deploy/setup.sh

echo "== cargo fmt --check"
cargo fmt --all -- --check

echo "== cargo clippy --all-targets -- -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "== benchmarks (short mode)"
cargo bench --locked -p keelson-apiserver --bench storage -- --short
cargo bench --locked -p keelson-apiserver --bench api -- --short
cargo bench --locked -p keelson-scheduler --bench scheduler -- --short
cargo bench --locked -p keelson-controllers --bench controllers -- --short
cargo bench --locked -p keelson --bench up -- --short

echo "== tests"
cargo nextest run --workspace --locked --no-fail-fast
