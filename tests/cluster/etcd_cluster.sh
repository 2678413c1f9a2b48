#!/usr/bin/env bash
# etcd_cluster.sh SRCDIR CMD [ARG...]: run CMD beside a 3-member etcd on
# loopback ports, in a temporary directory, and stop every member when CMD
# ends (or this script is interrupted), whatever CMD's result.
#
# CMD sees SYNCD_ETCD_URLS (the client URLs, comma-separated) and
# SYNCD_ETCD_DIR, where member N has mN.cmd (the line that starts it
# again, e.g. after a kill -9), mN.pid and mN.log.  etcd comes from
# Debian's etcd-server through scripts/install-deps.sh; when it cannot be
# installed, the test is skipped (exit 77) with a message saying why.
set -u
src=$1
shift

if ! command -v etcd >/dev/null 2>&1; then
  echo "etcd_cluster: etcd not found; installing it with scripts/install-deps.sh" >&2
  "$src/scripts/install-deps.sh" >&2 || true
fi
if ! command -v etcd >/dev/null 2>&1; then
  echo "SKIPPED: etcd-server (Debian) is not installed and could not be" \
       "installed by scripts/install-deps.sh; the cluster tests need it" >&2
  exit 77
fi

dir=$(mktemp -d "${TMPDIR:-/tmp}/syncd-etcd.XXXXXX")
stop_all() {
  local f pid
  for f in "$dir"/m*.pid; do
    [ -f "$f" ] || continue
    pid=$(cat "$f")
    kill -CONT "$pid" 2>/dev/null
    kill -9 "$pid" 2>/dev/null
  done
  wait 2>/dev/null
  if [ -n "${SYNCD_KEEP_ETCD_LOGS:-}" ]; then
    echo "etcd_cluster: logs kept in $dir" >&2
  else
    rm -rf "$dir"
  fi
}
trap stop_all EXIT
trap 'exit 130' INT TERM

port_free() {
  ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Six free ports (client, peer for 3 members), from a random base below
# the kernel's ephemeral range: a port in it may be taken by any outgoing
# connection (another test's curl) between this check and etcd's bind.
low=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
[ "$low" -gt 12000 ] 2>/dev/null || low=32768
slots=$(( (low - 10 - 10000) / 10 ))
for attempt in $(seq 1 50); do
  base=$((10000 + (RANDOM % slots) * 10))
  ok=1
  for i in 0 1 2 3 4 5; do
    port_free $((base + i)) || { ok=0; break; }
  done
  [ $ok = 1 ] && break
done
[ $ok = 1 ] || { echo "etcd_cluster: no free ports" >&2; exit 1; }

initial=""
urls=""
for i in 0 1 2; do
  initial+="${initial:+,}m$i=http://127.0.0.1:$((base + 2 * i + 1))"
  urls+="${urls:+,}http://127.0.0.1:$((base + 2 * i))"
done
for i in 0 1 2; do
  cp=$((base + 2 * i)); pp=$((base + 2 * i + 1))
  cat >"$dir/m$i.cmd" <<EOF
cd '$dir' && exec etcd --name m$i --data-dir '$dir/m$i.data' \
  --listen-client-urls http://127.0.0.1:$cp \
  --advertise-client-urls http://127.0.0.1:$cp \
  --listen-peer-urls http://127.0.0.1:$pp \
  --initial-advertise-peer-urls http://127.0.0.1:$pp \
  --initial-cluster $initial --initial-cluster-state new \
  --initial-cluster-token syncd-test-$base \
  --heartbeat-interval 100 --election-timeout 1000 >>'$dir/m$i.log' 2>&1
EOF
  (bash "$dir/m$i.cmd" & echo $! >"$dir/m$i.pid")
done

# Ready when a write through the gateway succeeds (a leader exists).
for _ in $(seq 1 100); do
  if ETCDCTL_API=3 etcdctl --endpoints="$urls" --command-timeout=1s \
       put syncd-test-ready 1 >/dev/null 2>&1; then
    ready=1
    break
  fi
  sleep 0.1
done
if [ -z "${ready:-}" ]; then
  echo "etcd_cluster: the 3 members did not elect a leader in 10 s" >&2
  tail -n 5 "$dir"/m*.log >&2
  exit 1
fi

export SYNCD_ETCD_URLS=$urls SYNCD_ETCD_DIR=$dir
"$@"
