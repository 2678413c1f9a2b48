#!/usr/bin/env bash
# The two ways a user gets the package, each then used against a daemon:
# `cmake --install` (into <prefix>/lib/python3.X/dist-packages), and
# `pip install --no-build-isolation` of a copy of python/ into a virtual
# environment with Debian's setuptools, offline, against that prefix's
# libsyncclient (pkg-config).  Usage: test_install.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$1 src=$2
py=${PYTHON:-/usr/bin/python3}
tmp=$(mktemp -d /tmp/syncd-pyinst.XXXXXX)
trap 'kill "$daemon" 2>/dev/null || true; rm -rf "$tmp"' EXIT

cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
"$build/daemon/syncd" --socket "$tmp/s.sock" --quiet &
daemon=$!
for _ in $(seq 500); do [ -S "$tmp/s.sock" ] && break; sleep 0.01; done
export SYNCD_SOCKET=$tmp/s.sock

use='import syncd, sys, time
for _ in range(500):  # the socket file appears at bind(), before listen()
    try:
        syncd.connect()
        break
    except syncd.ConnectionError:
        time.sleep(0.01)
l = syncd.Lock("install/check")
assert l.acquire() and l.locked() and l.token >= 1
l.release()
print(syncd.__file__)'

site=$(echo "$tmp"/prefix/lib/python3*/dist-packages)
out=$(cd "$tmp" && PYTHONPATH=$site "$py" -c "$use")
case $out in "$site"/syncd/__init__.py) ;; *) echo "cmake --install: imported $out" >&2; exit 1;; esac

cp -r "$src/python" "$tmp/python"
rm -rf "$tmp/python/build" "$tmp"/python/*.egg-info
"$py" -m venv --system-site-packages "$tmp/venv"
PKG_CONFIG_PATH=$tmp/prefix/lib/pkgconfig \
  "$tmp/venv/bin/pip" install --no-build-isolation --no-index -q "$tmp/python"
out=$(cd "$tmp" && "$tmp/venv/bin/python" -c "$use")
case $out in "$tmp"/venv/lib/python3*/site-packages/syncd/__init__.py) ;; *) echo "pip: imported $out" >&2; exit 1;; esac
echo "cmake --install and pip install both give a working syncd package"
