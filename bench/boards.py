"""Call-to-board latency: from the call-next response to the call's receipt on each
connected board, with 1 (baseline), 50 and 200 boards, and the server's peak RSS.

    .venv/bin/python bench/boards.py            # one worker, in-process transport
    .venv/bin/python bench/boards.py --redis    # also: two workers + Redis pub/sub

Boards are websocket-client connections read by ONE selector thread, so the figures
measure the server's delivery, not 200 client threads fighting over the GIL. An event
is published after commit, before the HTTP response leaves, so a board often has the
call before the operator has the response: such a latency counts as 0 ms; the figure
from the moment the request was sent is printed next to it. Bounded: about half a
minute per fan-out (in-process, Redis).
"""
import argparse
import json
import os
import selectors
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import requests
import websocket

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests.servers import Server  # noqa: E402

CALLS = 20
SCENARIOS = (1, 50, 200)


def rss_kib(pids) -> int:
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total


def server_pids(server) -> list[int]:
    """The gunicorn master and its workers (one process group)."""
    pgid = server.process.pid
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if os.getpgid(int(entry.name)) == pgid:
                    pids.append(int(entry.name))
            except OSError:
                pass
    return pids


class RssSampler(threading.Thread):
    def __init__(self, server):
        super().__init__(daemon=True)
        self.server = server
        self.peak = 0
        self.stop = threading.Event()

    def run(self):
        while not self.stop.is_set():
            self.peak = max(self.peak, rss_kib(server_pids(self.server)))
            time.sleep(0.1)


def connect_boards(server, n):
    url = server.url.replace("http://", "ws://") + "/ws/boards/tabang"
    boards = []
    while len(boards) < n:
        ws = websocket.WebSocket()
        try:
            ws.connect(url, timeout=10)
        except websocket.WebSocketBadStatusException as exc:
            ws.shutdown()
            if exc.status_code == 503:  # a full worker: try again, like board.js
                time.sleep(0.02)
                continue
            raise
        snapshot = json.loads(ws.recv())
        assert snapshot["type"] == "snapshot"
        ws.sock.setblocking(True)
        boards.append(ws)
    return boards


def measure(server, boards, token):
    """CALLS calls; for each, when every board got it, relative to send and response."""
    sel = selectors.DefaultSelector()
    for ws in boards:
        sel.register(ws.sock, selectors.EVENT_READ, ws)
    headers = {"Authorization": f"Bearer {token}"}
    session = requests.Session()
    from_response, from_request = [], []
    for _ in range(CALLS):
        r = session.post(f"{server.url}/api/v1/sites/tabang/tickets",
                         json={"service": "ADM-KTP"}, timeout=10)
        assert r.status_code == 201, r.text
        _drain(sel, len(boards), "issued")
        sent = time.perf_counter()
        r = session.post(f"{server.url}/api/v1/sites/tabang/counters/L1/call-next",
                         headers=headers, timeout=10)
        answered = time.perf_counter()
        assert r.status_code == 200, r.text
        number = r.json()["ticket"]["number"]
        arrivals = _drain(sel, len(boards), "call", number)
        from_response += [max(0.0, t - answered) * 1000 for t in arrivals]
        from_request += [(t - sent) * 1000 for t in arrivals]
        r = session.post(f"{server.url}/api/v1/tickets/{r.json()['ticket']['id']}/finish",
                         json={"outcome": "completed"}, headers=headers, timeout=10)
        assert r.status_code == 200, r.text
        _drain(sel, len(boards), "finish")
    sel.close()
    return from_response, from_request


def _drain(sel, n, kind, number=None, timeout=10.0):
    """Read until each board has had one `kind` event; return the arrival times.

    Raw reads, no frame parsing: server frames are unmasked and uncompressed (the
    client offers no extension), so the JSON is in the bytes as sent. The client must
    be much faster than the server here, or it measures itself."""
    marker = f'"type":"{kind}"'.encode()
    wanted = f'"number":"{number}"'.encode() if number else None
    arrivals, buffers = {}, {}
    deadline = time.monotonic() + timeout
    while len(arrivals) < n:
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {len(arrivals)}/{n} boards got {kind} {number}")
        ready = sel.select(timeout=1.0)
        seen = time.perf_counter()  # one instant for the batch: data was there by then
        for key, _ in ready:
            sock = key.fileobj
            data = buffers.get(sock, b"") + sock.recv(65536)
            at = data.find(marker)
            if at >= 0 and (wanted is None or wanted in data[at:at + 400]):
                arrivals.setdefault(sock, seen)
                buffers[sock] = b""
            else:
                buffers[sock] = data[-2000:]
    return list(arrivals.values())


def pct(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q / 100 * (len(values) - 1))))]


def run(label, workers, threads, env):
    data = Path(tempfile.mkdtemp(prefix="bench-boards-"))
    print(f"\n== {label}: {workers} worker(s) x {threads} threads ==")
    print(f"{'boards':>7} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}   "
          f"{'p50/p99 from request':>22} {'peak RSS MiB':>13}")
    with Server(data, workers=workers, threads=threads,
                env={"BOARD_RESERVED_THREADS": "16", **env}) as server:
        token = server.token("operator.tabang")
        results = {}
        for n in SCENARIOS:
            sampler = RssSampler(server)
            sampler.start()
            boards = connect_boards(server, n)
            try:
                after, since = measure(server, boards, token)
            finally:
                for ws in boards:
                    ws.close()
                sampler.stop.set()
                sampler.join()
            results[n] = (pct(after, 50), pct(after, 99))
            print(f"{n:>7} {pct(after, 50):>8.2f} {pct(after, 99):>8.2f} {max(after):>8.2f}   "
                  f"{pct(since, 50):>10.2f} / {pct(since, 99):>8.2f} "
                  f"{sampler.peak / 1024:>13.1f}")
            time.sleep(1.5)  # let the closed boards' threads finish
        base = results[1][1]
        print(f"p99 at 200 boards: {results[200][1]:.2f} ms (baseline, 1 board: "
              f"{base:.2f} ms); aim < 25 ms: {'met' if results[200][1] < 25 else 'NOT met'}")
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--redis", action="store_true",
                        help="also run two workers with Redis pub/sub on 127.0.0.1:6379")
    args = parser.parse_args()
    print(f"{CALLS} calls per scenario; {os.cpu_count()} CPUs; load "
          f"{os.getloadavg()[0]:.1f}")
    run("in-process (a hall's box)", workers=1, threads=240, env={})
    if args.redis:
        run("Redis pub/sub", workers=2, threads=160,
            env={"REDIS_URL": "redis://127.0.0.1:6379/0",
                 "BOARD_CHANNEL_PREFIX": f"bench-{uuid.uuid4().hex[:8]}:"})


if __name__ == "__main__":
    main()
