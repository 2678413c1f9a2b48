#!/usr/bin/python3
"""cluster_txn_probe.py: etcd's side of cluster_bench's C1, without syncd.

The two transactions a cluster/ Lock's acquire + release send
(daemon/cluster/recipe.c: the contender key under a lease, its owner-died
mark, and the reads that say whether it is first; then the release that
deletes both if the key still has its create revision), the same two
without the mark, and etcd's own lock + unlock, all through the JSON
gateway from one kept-alive HTTP connection, the three taking turns pair
by pair.  What syncd's agent adds (client round trips, worker threads)
is not in these figures: the gap between them and etcd's lock is etcd's
cost of the transactions themselves.

Usage: tests/cluster/etcd_cluster.sh "$PWD" bench/cluster_txn_probe.py
[-n PAIRS]; the first member of SYNCD_ETCD_URLS is used.
"""
import argparse
import base64
import http.client
import json
import os
import statistics
import time


def b64(raw):
    return base64.b64encode(raw).decode()


class Gateway:
    def __init__(self, url):
        self.conn = http.client.HTTPConnection(url.replace("http://", ""))

    def post(self, path, body):
        self.conn.request("POST", path, json.dumps(body),
                          {"Content-Type": "application/json"})
        return json.loads(self.conn.getresponse().read())


def prefix_end(key):
    return b64(key[:-1] + bytes([key[-1] + 1]))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=300, help="pairs of each")
    args = ap.parse_args()
    gw = Gateway(os.environ["SYNCD_ETCD_URLS"].split(",")[0])
    lease = gw.post("/v3/lease/grant", {"TTL": 600})["ID"]
    base = b"syncd\x01cluster/probe-%d\x01" % os.getpid()
    info = b64(b'{"host":"probe","pid":1,"uid":0,"agent":1,"session":1}')
    q = base + b"q/0000000000000001-00000001"
    m = base + b"m/0000000000000001-00000001"

    def acquire(mark):
        ops = [{"request_put": {"key": b64(q), "value": info,
                                "lease": lease}}]
        if mark:
            ops.append({"request_put": {"key": b64(m), "value": info}})
        ops += [{"request_range": {"key": b64(q), "keys_only": True}},
                {"request_range": {"key": b64(base + b"q/"),
                                   "range_end": prefix_end(base + b"q/"),
                                   "sort_order": "ASCEND",
                                   "sort_target": "CREATE", "limit": "1",
                                   "keys_only": True}}]
        if mark:
            ops.append({"request_range": {
                "key": b64(base + b"m/"), "range_end": prefix_end(base + b"m/"),
                "sort_order": "ASCEND", "sort_target": "CREATE", "limit": 5,
                "keys_only": True}})
        r = gw.post("/v3/kv/txn", {"success": ops})
        mine = r["responses"][2 if mark else 1]["response_range"]["kvs"][0]
        return mine["create_revision"]

    def release(rev, mark):
        ops = [{"request_delete_range": {"key": b64(q)}}]
        if mark:
            ops.append({"request_delete_range": {"key": b64(m)}})
        gw.post("/v3/kv/txn", {"compare": [{"target": "CREATE",
                                            "key": b64(q),
                                            "create_revision": rev}],
                               "success": ops})

    lock_name = b64(b"probe-lock-%d" % os.getpid())

    def etcd_lock():
        key = gw.post("/v3/lock/lock", {"name": lock_name,
                                        "lease": lease})["key"]
        gw.post("/v3/lock/unlock", {"key": key})

    rows = {
        "syncd's txns (contender + mark)": lambda: release(acquire(True), True),
        "the same without the mark": lambda: release(acquire(False), False),
        "etcd lock + unlock": etcd_lock,
    }
    times = {name: [] for name in rows}
    for fn in rows.values():
        for _ in range(10):
            fn()
    for _ in range(args.n):
        for name, fn in rows.items():
            t0 = time.perf_counter()
            fn()
            times[name].append((time.perf_counter() - t0) * 1e6)
    ref = statistics.median(times["etcd lock + unlock"])
    print("| cluster_txn_probe (µs per pair, %d pairs) | p50 | mean | "
          "x etcd lock (p50) |\n|---|--:|--:|--:|" % args.n)
    for name, v in times.items():
        print("| %s | %.0f | %.0f | %.2fx |" % (
            name, statistics.median(v), statistics.mean(v),
            statistics.median(v) / ref))
    gw.post("/v3/lease/revoke", {"ID": lease})


if __name__ == "__main__":
    main()
