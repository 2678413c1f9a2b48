#!/usr/bin/env bash
# Install what is missing, build only what the demo needs (syncd, the demo
# and syncctl, with the tests off: no test, benchmark or Python target),
# then run syncd in the foreground on a socket in the build directory while
# a short live demo runs against it.  The daemon keeps serving afterwards until Ctrl-C (or
# SYNCD_DEMO_EXIT=1 stops it after the demo).  BUILD_DIR (default build)
# names the build directory.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
dir=${BUILD_DIR:-build}
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSYNCD_BUILD_TESTS=OFF >/dev/null
cmake --build "$dir" -j"$(nproc)" --target syncd syncd-demo syncctl

sock=${SYNCD_SOCKET:-$dir/syncd.sock}
echo "== starting syncd on $sock (foreground; Ctrl-C stops it)"
(
  # Wait until the daemon accepts connections, then run the demo.
  for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.05; done
  "$dir/client/syncd-demo" "$sock"
  echo "== demo finished; syncd keeps serving on $sock"
  echo "   try: $dir/client/syncctl/syncctl --socket $sock ls"
  echo "        SYNCD_SOCKET=$sock $dir/client/syncd-demo"
  if [ "${SYNCD_DEMO_EXIT:-0}" = 1 ]; then kill -TERM $$; fi
) &
exec "$dir/daemon/syncd" --socket "$sock"
