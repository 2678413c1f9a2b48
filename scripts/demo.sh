#!/usr/bin/env bash
# Install what is missing, build, then run syncd in the foreground on a
# local socket while a short live demo runs against it.  The daemon keeps
# serving afterwards until Ctrl-C (or SYNCD_DEMO_EXIT=1 stops it after the
# demo).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh build

sock=${SYNCD_SOCKET:-$PWD/build/syncd.sock}
echo "== starting syncd on $sock (foreground; Ctrl-C stops it)"
(
  # Wait until the daemon accepts connections, then run the demo.
  for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.05; done
  build/client/syncd-demo "$sock"
  echo "== demo finished; syncd keeps serving on $sock"
  echo "   try: SYNCD_SOCKET=$sock build/client/syncd-demo"
  if [ "${SYNCD_DEMO_EXIT:-0}" = 1 ]; then kill -TERM $$; fi
) &
exec build/daemon/syncd --socket "$sock"
