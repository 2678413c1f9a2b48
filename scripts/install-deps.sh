#!/usr/bin/env bash
# Install the Debian 12 packages syncd needs to build and test, only those
# missing.  Runs apt-get as root (or through sudo).
set -euo pipefail

PKGS=(build-essential cmake pkg-config libuv1-dev libprotobuf-c-dev
      protobuf-c-compiler libcriterion-dev uthash-dev libjansson-dev
      libsystemd-dev libinih-dev libsqlite3-dev zlib1g-dev
      libcurl4-openssl-dev etcd-server etcd-client clang libclang-rt-14-dev valgrind
      python3-dev python3-setuptools python3-pip python3-venv python3-pytest
      libpython3.11-testsuite spin)

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
    missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps: need root to install: ${missing[*]}" >&2; exit 1; }
  SUDO=sudo
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
