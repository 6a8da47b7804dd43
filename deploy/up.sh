#!/usr/bin/env bash
# The main job: build Keelson and run a whole cluster with `keelson up`.
# Arguments are passed to `keelson up` (e.g. --nodes 3 --data-dir .data).
set -euo pipefail
cd "$(dirname "$0")/.."

deploy/setup.sh
cargo build --release --locked -p keelson
exec target/release/keelson up "$@"
