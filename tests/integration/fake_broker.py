#!/usr/bin/env python3
"""A stand-in for `gregor serve` used only by test_harness.py to test the Broker fixture
without the real binary: it parses `serve --set listeners=PLAINTEXT://HOST:PORT --set ...`,
answers ApiVersions v0 with a fixed list, drops any other request, exits 0 on SIGTERM.
FAKE_BROKER_IGNORE_SIGTERM=1 makes it ignore SIGTERM; FAKE_BROKER_FAIL=1 makes it exit 3 at once."""

import os
import signal
import socket
import struct
import sys
import threading


def main() -> int:
    args = sys.argv[1:]
    if not args or args[0] != "serve":
        print("usage: fake_broker.py serve --set KEY=VALUE ...", file=sys.stderr)
        return 2
    sets = {}
    for i, a in enumerate(args):
        if a == "--set":
            k, _, v = args[i + 1].partition("=")
            sets[k] = v
    if os.environ.get("FAKE_BROKER_FAIL"):
        print("fake broker: failing on purpose", file=sys.stderr)
        return 3
    host, port = sets["listeners"].split("://", 1)[1].rsplit(":", 1)
    os.makedirs(sets["log.dirs"], exist_ok=True)
    if os.environ.get("FAKE_BROKER_IGNORE_SIGTERM"):
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    else:
        signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((host, int(port)))
    srv.listen(16)
    print(f"fake broker node {sets.get('node.id')} listening on {host}:{port}", file=sys.stderr, flush=True)
    while True:
        conn, _ = srv.accept()
        threading.Thread(target=serve_conn, args=(conn,), daemon=True).start()


def recv_exact(conn, n):
    buf = b""
    while len(buf) < n:
        chunk = conn.recv(n - len(buf))
        if not chunk:
            raise EOFError
        buf += chunk
    return buf


def serve_conn(conn):
    try:
        while True:
            (size,) = struct.unpack(">i", recv_exact(conn, 4))
            req = recv_exact(conn, size)
            api_key, _version, corr = struct.unpack_from(">hhi", req, 0)
            if api_key != 18:
                return
            apis = [(0, 0, 11), (1, 4, 17), (3, 0, 12), (18, 0, 4)]
            body = struct.pack(">hi", 0, len(apis)) + b"".join(struct.pack(">hhh", *a) for a in apis)
            resp = struct.pack(">i", corr) + body
            conn.sendall(struct.pack(">i", len(resp)) + resp)
    except (EOFError, OSError):
        pass
    finally:
        conn.close()


if __name__ == "__main__":
    sys.exit(main())
