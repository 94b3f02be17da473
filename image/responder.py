#!/usr/bin/python3
"""Tiny HTTP responder for lab real servers.

Answers every request with one line: "<node> saw <client-ip>:<client-port>", so the
learner sees which real server answered and whether the client's address survived the
trip. GET /hold/<seconds> keeps the connection open that long before answering, which is
what makes least-connection schedulers differ from round robin.
Only python3-minimal is in the image, so this uses sockets, not http.server.
"""
import os
import socket
import sys
import threading
import time

NODE = os.environ.get("LVS_LAB_NODE") or socket.gethostname()
MAX_HOLD_SECONDS = 600


def answer(conn: socket.socket, peer) -> None:
    with conn:
        conn.settimeout(10)
        request = b""
        try:
            while b"\r\n\r\n" not in request and len(request) < 65536:
                chunk = conn.recv(4096)
                if not chunk:
                    break
                request += chunk
        except OSError:
            return
        parts = request.split(b" ", 2)
        path = parts[1].decode("latin-1") if len(parts) > 1 else "/"
        if path.startswith("/hold/"):
            try:
                time.sleep(min(float(path[len("/hold/"):]), MAX_HOLD_SECONDS))
            except ValueError:
                pass
        body = f"{NODE} saw {peer[0]}:{peer[1]}\n".encode()
        head = (
            "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n"
            f"Content-Length: {len(body)}\r\nX-Served-By: {NODE}\r\nConnection: close\r\n\r\n"
        ).encode()
        try:
            conn.sendall(head + body)
        except OSError:
            pass


def main() -> None:
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8000
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("0.0.0.0", port))
    server.listen(128)
    print(f"{NODE} listening on {port}", flush=True)
    while True:
        conn, peer = server.accept()
        threading.Thread(target=answer, args=(conn, peer), daemon=True).start()


if __name__ == "__main__":
    main()
