#!/usr/bin/env bash
# Installs what building and testing Keelson needs on a fresh Debian machine of this kind.
# Idempotent: it installs only what is missing and does nothing when everything is there.
set -euo pipefail

# protoc builds etcd-client's bindings (libprotobuf-dev ships the google/protobuf/*.proto it imports); etcd-server/etcd-client are the real etcd the
# tests and benchmarks start on loopback.
packages=(protobuf-compiler libprotobuf-dev etcd-server etcd-client)

missing=()
for pkg in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done

if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Debian's etcd-server package starts a system etcd on :2379; tests never use it (they
# start their own on free ports), so leave it alone but don't depend on it either.

if ! cargo nextest --version >/dev/null 2>&1; then
  echo "setup: installing cargo-nextest"
  cargo install --locked cargo-nextest
fi
