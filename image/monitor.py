#!/usr/bin/python3
"""lvs-lab-monitor: a steady trickle of requests and what became of them, so an outage
(a director failing over, a real server dying) can be measured after the fact.

  lvs-lab-monitor start URL [INTERVAL] [SECONDS]  a request to URL every INTERVAL s (default 0.1)
                                                  for at most SECONDS (default 3600), in the background
  lvs-lab-monitor gap [WINDOW]                    longest outage in the last WINDOW s (default 120):
                                                  from the first failed request to the next answered one
  lvs-lab-monitor stop

Log: one line per request, "<epoch seconds> ok <server>" or "<epoch seconds> fail <why>",
stamped when the request started. Each request runs in its own thread and may take up to
a second, so a failing request does not delay the next one: the outage is measured to
within INTERVAL, where a loop of curl processes under an emulated CPU sampled every ~2 s.
Only python3-minimal is in the image, so this uses sockets, not urllib or http.client.
"""
import itertools
import os
import socket
import sys
import threading
import time

LOG = "/var/log/lvs-lab-monitor.log"
PID = "/run/lvs-lab-monitor.pid"
TIMEOUT = 1.0
# Source ports above the kernel's ephemeral range (32768-60999), taken in turn: a probe's
# packet trace tells the monitor's connections from its own by them (MONITOR_PORTS in
# src/probes/trace.ts). A port comes round again after 1000 requests, long after its
# TIME_WAIT (60 s) has ended.
PORTS = range(61000, 62000)
next_port = itertools.count()
USAGE = __doc__.split("\n\n")[1]


def connect(host: str, port: int) -> socket.socket:
    """A connection from the next of PORTS (SO_REUSEADDR: a port whose last connection
    lingers on another address may be bound again)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.settimeout(TIMEOUT)
        s.bind(("", PORTS[next(next_port) % len(PORTS)]))
        s.connect((host, port))
    except BaseException:
        s.close()
        raise
    return s


def request(host: str, port: int, path: str) -> str:
    """"ok <server>" or "fail <why>" for one GET, all of it within TIMEOUT seconds."""
    deadline = time.monotonic() + TIMEOUT
    try:
        with connect(host, port) as s:
            s.sendall(f"GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n".encode())
            reply = b""
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    return "fail timeout"
                s.settimeout(left)
                chunk = s.recv(4096)
                if not chunk:
                    break
                reply += chunk
    except socket.timeout:
        return "fail timeout"
    except ConnectionRefusedError:
        return "fail refused"
    except OSError as e:
        return f"fail {e.__class__.__name__}"
    head, _, body = reply.partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/") or b" 200 " not in head.split(b"\r\n")[0] + b" ":
        return "fail status"
    return "ok " + body.decode("latin-1").split(" saw", 1)[0].strip()


def run(url: str, interval: float, seconds: float) -> None:
    rest = url.split("://", 1)[-1]
    hostport, _, path = rest.partition("/")
    host, _, port = hostport.partition(":")
    lock = threading.Lock()
    with open(LOG, "a", buffering=1) as log:

        def one(started: float) -> None:
            outcome = request(host, int(port or 80), "/" + path)
            with lock:
                log.write(f"{started:.2f} {outcome}\n")

        end = time.monotonic() + seconds
        tick = time.monotonic()
        while tick < end:
            threading.Thread(target=one, args=(time.time(),), daemon=True).start()
            tick += interval
            time.sleep(max(0.0, tick - time.monotonic()))


def start(url: str, interval: float, seconds: float) -> None:
    stop()
    if os.fork():
        return
    os.setsid()
    if os.fork():
        os._exit(0)
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    with open(PID, "w") as f:
        f.write(f"{os.getpid()}\n")
    run(url, interval, seconds)
    os._exit(0)


def stop() -> None:
    try:
        with open(PID) as f:
            os.kill(int(f.read().strip()), 15)
    except (OSError, ValueError):
        pass
    try:
        os.remove(PID)
    except OSError:
        pass


def lines_since(since: float) -> list[tuple[float, str]]:
    """The log's lines stamped at or after `since`, in the order the requests started.

    Read from the end: the log of a two-hour lab holds tens of thousands of lines."""
    try:
        f = open(LOG, "rb")
    except OSError:
        return []
    with f:
        f.seek(0, os.SEEK_END)
        pos, data = f.tell(), b""
        while pos > 0:
            step = min(pos, 65536)
            pos -= step
            f.seek(pos)
            data = f.read(step) + data
            first = data.split(b"\n", 2)[1:2] if pos > 0 else []
            # Lines are written as requests end (up to TIMEOUT late): read a little further back.
            if first and float(first[0].split(b" ", 1)[0] or 0) < since - 2 * TIMEOUT:
                break
    rows = []
    for line in data.decode("latin-1").splitlines():
        parts = line.split(" ", 2)
        try:
            stamp = float(parts[0])
        except ValueError:
            continue
        if stamp >= since and len(parts) > 1:
            rows.append((stamp, parts[1]))
    return sorted(rows)


def gap(window: float) -> str:
    rows = lines_since(time.time() - window)
    ok = sum(1 for _, what in rows if what == "ok")
    longest, down = 0.0, None
    for stamp, what in rows:
        if what == "ok":
            if down is not None:
                longest = max(longest, stamp - down)
                down = None
        elif down is None:
            down = stamp
    still = " still-failing" if down is not None else ""
    return f"requests {len(rows)} ok {ok} failed {len(rows) - ok} gap {longest:.1f}{still}"


def main(args: list[str]) -> int:
    if args[:1] == ["start"] and len(args) >= 2:
        start(args[1], float(args[2]) if len(args) > 2 else 0.1, float(args[3]) if len(args) > 3 else 3600)
    elif args[:1] == ["stop"]:
        stop()
    elif args[:1] == ["gap"]:
        print(gap(float(args[1]) if len(args) > 1 else 120))
    else:
        print(USAGE)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
