#!/usr/bin/env python3
"""A TCP proxy in front of one etcd member that loses answers.

    lossy_proxy.py TARGET_PORT SECONDS [PATH] MATCH [MATCH...]

Listens on a free loopback port and prints it on stdout.  Every HTTP/1.1
request is passed to 127.0.0.1:TARGET_PORT as is; when it is a POST to
PATH (an argument starting "/v3/"; /v3/kv/txn if none is given) whose
body holds every MATCH string (a MATCH "A|B": A or B), etcd gets it and
applies it, but its answer is dropped: the client's connection is closed
as the first byte of the answer arrives, as when a leader dies between its
commit and its reply.  SECONDS 0: only the first matching request is
treated so; else every matching one for SECONDS after the first (the
member stays that way as long as a call's retries last).  A line "dropped PATH" goes to stderr for each drop.

The cluster tests use it to send the agent's txns twice, the way etcd_post's
own retry does after such a failure, and check that they act once.
"""
import socket
import sys
import threading
import time

target = int(sys.argv[1])
window = float(sys.argv[2])
matches = [m.encode() for m in sys.argv[3:]]
# A MATCH that is a gateway path ("/v3/lease/keepalive") chooses the calls
# treated so instead of /v3/kv/txn; the other MATCHes are looked for in
# their bodies.
path = b"/v3/kv/txn"
for m in list(matches):
    if m.startswith(b"/v3/"):
        path = m
        matches.remove(m)
lock = threading.Lock()
first_drop = [None]


def should_drop(head, body):
    if not head.startswith(b"POST " + path + b" "):
        return False
    if not all(any(alt in body for alt in m.split(b"|")) for m in matches):
        return False
    with lock:
        now = time.monotonic()
        if first_drop[0] is None:
            first_drop[0] = now
            return True
        return now - first_drop[0] < window


def content_length(head):
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value.strip())
    return 0


def serve(client):
    upstream = socket.create_connection(("127.0.0.1", target))
    drop = threading.Event()

    def answers():
        try:
            while True:
                data = upstream.recv(65536)
                if not data:
                    break
                if drop.is_set():
                    break
                client.sendall(data)
        except OSError:
            pass
        for s in (client, upstream):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    threading.Thread(target=answers, daemon=True).start()
    buf = b""
    try:
        while True:
            data = client.recv(65536)
            if not data:
                break
            buf += data
            # Whole requests only: curl sends one at a time on a connection.
            while b"\r\n\r\n" in buf:
                head, _, rest = buf.partition(b"\r\n\r\n")
                n = content_length(head)
                if len(rest) < n:
                    break
                body, buf = rest[:n], rest[n:]
                if should_drop(head, body):
                    drop.set()
                    print("dropped", head.split(b" ")[1].decode(),
                          file=sys.stderr, flush=True)
                upstream.sendall(head + b"\r\n\r\n" + body)
    except OSError:
        pass


def main():
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", 0))
    ls.listen(64)
    print(ls.getsockname()[1], flush=True)
    while True:
        c, _ = ls.accept()
        threading.Thread(target=serve, args=(c,), daemon=True).start()


if __name__ == "__main__":
    main()
