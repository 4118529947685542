"""Boards at scale: with 50, 200 and 500 boards connected to ONE server, how fast a call
reaches every board, how fast a kiosk's ticket is answered meanwhile, and each worker's
memory, every figure next to its baseline measured on the same server just before.

    .venv/bin/python bench/boards.py                     # make run's defaults
    .venv/bin/python bench/boards.py --repeat 3          # three runs: ranges
    .venv/bin/python bench/boards.py --redis             # two workers + Redis pub/sub
    .venv/bin/python bench/boards.py --threads 8 --env BOARD_MAX_CONNECTIONS=600

The server is tests/servers.py's gunicorn with the product's defaults from
app/config.py (WEB_CONCURRENCY, GUNICORN_THREADS), the demo data and RATE_LIMITS=off.
For each scenario of N boards:

- baseline: one board connected; CALLS calls (issue, call-next, finish), the latency
  from the call-next response to the call on the board; then TICKETS kiosk tickets
  (`POST /api/v1/sites/<site>/tickets`, one after another), their latency;
- every board is a registered board of the hall (one device registered through the
  domain, `tests/boardkit.py`, its credential as every board's cookie: the hall's
  allowance BOARD_HALL_MAX applies, not the small one of unregistered clients);
- then N boards of one hall (the worst case: every call goes to all of them), opened
  from 8 client threads (a refused board, 503, retries after 50 ms like board.js, for at
  most CONNECT_SECONDS); the same calls and tickets while they are connected (one
  client thread reads every board meanwhile, so none falls behind);
- each worker's RSS while the N boards are connected (VmRSS), its peak since it started
  (VmHWM, /proc/<pid>/status; the first calls' speech and reports count there too) and
  its threads, taken once the boards are connected.

Call latency counts 0 ms when the board had the call before the operator had the
response (an event is published after commit, before the response leaves). Boards are
read by ONE selector thread that parses frames by hand and answers pings, so the
figures measure the server, not 500 client threads fighting over the GIL. Bounded:
about a minute per run at the defaults.
"""
import argparse
import http.client
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
from app.config import SETTINGS  # noqa: E402
from tests import boardkit  # noqa: E402
from tests.servers import Server  # noqa: E402

CALLS = 20
TICKETS = 200
CONNECT_SECONDS = 30
SITE = "tabang"


# --- the server's processes ------------------------------------------------------------

def worker_pids(server) -> list[int]:
    """gunicorn's workers: the master's children."""
    master = server.process.pid
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == master:
                pids.append(int(entry.name))
    return sorted(pids)


def proc_status(pid) -> dict:
    out = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmHWM", "VmRSS", "Threads"):
                out[key] = int(value.split()[0])
    except OSError:
        pass
    return out


# --- boards ----------------------------------------------------------------------------

def ws_url(server):
    return server.url.replace("http://", "ws://") + f"/ws/boards/{SITE}"


def open_board(url, deadline, cookie):
    """One board: the handshake and its snapshot. Returns (socket, refusals)."""
    refused = 0
    while True:
        ws = websocket.WebSocket()
        try:
            ws.connect(url, timeout=20, cookie=cookie)
        except websocket.WebSocketBadStatusException as exc:
            ws.shutdown()
            if exc.status_code == 503 and time.monotonic() < deadline:
                refused += 1  # a full worker: try again, like board.js
                time.sleep(0.05)
                continue
            if exc.status_code == 503:
                return None, refused + 1
            raise
        snapshot = json.loads(ws.recv())
        assert snapshot["type"] == "snapshot", snapshot["type"]
        ws.sock.setblocking(True)
        return ws, refused


def connect_boards(server, n, client_threads=8):
    """N boards from a few client threads. Returns (boards, refusals, seconds)."""
    url = ws_url(server)
    cookie = boardkit.cookie(boardkit.credential_for(server, SITE))
    deadline = time.monotonic() + CONNECT_SECONDS
    boards, refusals, failed = [], [0], []
    lock = threading.Lock()
    counts = [n // client_threads + (1 if i < n % client_threads else 0)
              for i in range(client_threads)]

    def opener(count):
        for _ in range(count):
            try:
                ws, refused = open_board(url, deadline, cookie)
            except Exception as exc:  # noqa: BLE001 - reported below
                with lock:
                    failed.append(repr(exc))
                continue
            with lock:
                refusals[0] += refused
                if ws is not None:
                    boards.append(ws)

    start = time.perf_counter()
    threads = [threading.Thread(target=opener, args=(c,)) for c in counts if c]
    [t.start() for t in threads]
    [t.join() for t in threads]
    if failed:
        print(f"  !! {len(failed)} boards failed to connect, e.g. {failed[0]}")
    return boards, refusals[0], time.perf_counter() - start


def close_boards(server, boards):
    for ws in boards:
        try:
            ws.close(timeout=1)
        except (websocket.WebSocketException, OSError):
            pass
        ws.shutdown()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:  # the server has let them all go
        if requests.get(f"{server.url}/boards/{SITE}/status.json",
                        timeout=5).json()["connected_here"] == 0:
            return
        time.sleep(0.2)


class Frames:
    """A board's incoming frames, parsed by hand (server frames are unmasked and
    uncompressed: the client offers no extension); pings are answered, as a browser
    does, or the server drops the board."""

    def __init__(self, ws):
        self.ws = ws
        self.buffer = b""

    def read(self):
        """What arrived: the text messages' payloads (bytes)."""
        self.buffer += self.ws.sock.recv(65536)
        return self.parse()

    def parse(self):
        out = []
        while len(self.buffer) >= 2:
            opcode, length, at = self.buffer[0] & 0x0F, self.buffer[1] & 0x7F, 2
            if length == 126:
                if len(self.buffer) < 4:
                    break
                length, at = int.from_bytes(self.buffer[2:4], "big"), 4
            elif length == 127:
                if len(self.buffer) < 10:
                    break
                length, at = int.from_bytes(self.buffer[2:10], "big"), 10
            if len(self.buffer) < at + length:
                break
            payload, self.buffer = self.buffer[at:at + length], self.buffer[at + length:]
            if opcode == 0x9:
                self.ws.pong(payload)
            elif opcode == 0x8:
                self.closed(payload)
            elif opcode == 0x1:
                out.append(payload)
        return out

    def closed(self, payload):
        """A close frame from the server: here the board simply stops hearing."""


class Reader(threading.Thread):
    """Reads (and drops) everything the boards are sent, while tickets are measured."""

    def __init__(self, boards):
        super().__init__(daemon=True)
        self.sel = selectors.DefaultSelector()
        for ws in boards:
            self.sel.register(ws.sock, selectors.EVENT_READ, Frames(ws))
        self.stop = threading.Event()

    def run(self):
        while not self.stop.is_set():
            for key, _ in self.sel.select(timeout=0.2):
                try:
                    key.data.read()
                except OSError:
                    self.sel.unregister(key.fileobj)
        self.sel.close()


# --- measurements ----------------------------------------------------------------------

def measure_calls(server, boards, token):
    """CALLS calls; for each, when every board got it, after the call-next response."""
    sel = selectors.DefaultSelector()
    for ws in boards:
        sel.register(ws.sock, selectors.EVENT_READ, Frames(ws))
    headers = {"Authorization": f"Bearer {token}"}
    session = requests.Session()
    after = []
    for _ in range(CALLS):
        r = session.post(f"{server.url}/api/v1/sites/{SITE}/tickets",
                         json={"service": "ADM-KTP"}, timeout=10)
        assert r.status_code == 201, r.text
        _drain(sel, len(boards), "issued")
        r = session.post(f"{server.url}/api/v1/sites/{SITE}/counters/L1/call-next",
                         headers=headers, timeout=10)
        answered = time.perf_counter()
        assert r.status_code == 200, r.text
        number = r.json()["ticket"]["number"]
        arrivals = _drain(sel, len(boards), "call", number)
        after += [max(0.0, t - answered) * 1000 for t in arrivals]
        r = session.post(f"{server.url}/api/v1/tickets/{r.json()['ticket']['id']}/finish",
                         json={"outcome": "completed"}, headers=headers, timeout=10)
        assert r.status_code == 200, r.text
        _drain(sel, len(boards), "finish")
    sel.close()
    return after


def _drain(sel, n, kind, number=None, timeout=20.0):
    """Read until each board has had one `kind` event; return the arrival times."""
    marker = f'"type":"{kind}"'.encode()
    wanted = f'"number":"{number}"'.encode() if number else None
    arrivals = {}
    deadline = time.monotonic() + timeout
    while len(arrivals) < n:
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {len(arrivals)}/{n} boards got {kind} {number}")
        ready = sel.select(timeout=1.0)
        seen = time.perf_counter()  # one instant for the batch: data was there by then
        for key, _ in ready:
            for payload in key.data.read():
                if marker in payload and (wanted is None or wanted in payload):
                    arrivals.setdefault(key.fileobj, seen)
    return list(arrivals.values())


def measure_tickets(server, boards):
    """TICKETS kiosk tickets one after another on a kept-alive connection (ms)."""
    reader = Reader(boards)
    reader.start()
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    body = json.dumps({"service": "INFO"})
    headers = {"Content-Type": "application/json"}
    out = []
    try:
        for _ in range(TICKETS):
            start = time.perf_counter()
            conn.request("POST", f"/api/v1/sites/{SITE}/tickets", body, headers)
            response = conn.getresponse()
            response.read()
            out.append((time.perf_counter() - start) * 1000)
            assert response.status == 201, response.status
    finally:
        conn.close()
        reader.stop.set()
        reader.join()
    return out


def pct(values, q):
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q / 100 * (len(values) - 1))))]


def scenario(server, token, n):
    base_boards, _, _ = connect_boards(server, 1, client_threads=1)
    try:
        base_calls = measure_calls(server, base_boards, token)
        base_tickets = measure_tickets(server, base_boards)
    finally:
        close_boards(server, base_boards)
    boards, refusals, seconds = connect_boards(server, n)
    try:
        workers = {pid: proc_status(pid) for pid in worker_pids(server)}
        calls = measure_calls(server, boards, token) if boards else []
        tickets = measure_tickets(server, boards)
        peaks = {pid: proc_status(pid) for pid in workers}
    finally:
        close_boards(server, boards)
    return {"n": n, "connected": len(boards), "refusals": refusals, "connect_s": seconds,
            "base_call_p99": pct(base_calls, 99), "call_p50": pct(calls, 50),
            "call_p99": pct(calls, 99), "base_ticket_p99": pct(base_tickets, 99),
            "ticket_p50": pct(tickets, 50), "ticket_p99": pct(tickets, 99),
            "hwm_mib": max(p.get("VmHWM", 0) for p in peaks.values()) / 1024,
            "rss_mib": max(p.get("VmRSS", 0) for p in peaks.values()) / 1024,
            "threads": max(p.get("Threads", 0) for p in workers.values())}


def run(label, workers, threads, env, sizes):
    data = Path(tempfile.mkdtemp(prefix="bench-boards-"))
    print(f"\n== {label}: {workers} worker(s) x {threads} threads"
          f"{' ' + str(env) if env else ''} ==")
    print(f"{'boards':>6} {'conn':>5} {'503s':>5} {'open s':>6} | "
          f"{'call p99 ms':>11} {'(base 1)':>9} {'call p50':>8} | "
          f"{'ticket p99 ms':>13} {'(base 1)':>9} {'p50':>6} | {'RSS/worker MiB':>14} "
          f"{'peak':>6} {'threads':>7}")
    rows = []
    with Server(data, workers=workers, threads=threads, env=env) as server:
        token = server.token("operator.tabang")
        idle = max(proc_status(p).get("VmRSS", 0) for p in worker_pids(server)) / 1024
        print(f"  idle RSS per worker: {idle:.1f} MiB")
        for n in sizes:
            row = scenario(server, token, n)
            rows.append(row)
            print(f"{row['n']:>6} {row['connected']:>5} {row['refusals']:>5} "
                  f"{row['connect_s']:>6.1f} | {row['call_p99']:>11.2f} "
                  f"{row['base_call_p99']:>9.2f} {row['call_p50']:>8.2f} | "
                  f"{row['ticket_p99']:>13.2f} {row['base_ticket_p99']:>9.2f} "
                  f"{row['ticket_p50']:>6.2f} | {row['rss_mib']:>14.1f} "
                  f"{row['hwm_mib']:>6.1f} {row['threads']:>7}")
        if "Traceback" in server.log():
            print("  !! the server logged a traceback:\n" + server.log()[-3000:])
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--boards", default="50,200,500",
                        help="comma-separated board counts (default 50,200,500)")
    parser.add_argument("--repeat", type=int, default=1, help="whole runs, for ranges")
    parser.add_argument("--workers", type=int,
                        default=int(SETTINGS["WEB_CONCURRENCY"][0]))
    parser.add_argument("--threads", type=int,
                        default=int(SETTINGS["GUNICORN_THREADS"][0]))
    parser.add_argument("--env", action="append", default=[],
                        help="KEY=VALUE for the server (repeatable)")
    parser.add_argument("--redis", action="store_true",
                        help="two workers with Redis pub/sub on 127.0.0.1:6379")
    args = parser.parse_args()
    sizes = [int(n) for n in args.boards.split(",")]
    env = dict(item.split("=", 1) for item in args.env)
    workers = args.workers
    if args.redis:
        workers = max(2, workers)
        env.update({"REDIS_URL": "redis://127.0.0.1:6379/0",
                    "BOARD_CHANNEL_PREFIX": f"bench-{uuid.uuid4().hex[:8]}:"})
    print(f"{CALLS} calls and {TICKETS} tickets per measurement; {os.cpu_count()} CPUs; "
          f"load {os.getloadavg()[0]:.1f}")
    every = []
    for i in range(args.repeat):
        every.append(run(f"run {i + 1}/{args.repeat}", workers, args.threads, env, sizes))
    if args.repeat > 1:
        print("\n== ranges over the runs (min-max) ==")
        for j, n in enumerate(sizes):
            rows = [r[j] for r in every]

            def span(key, rows=rows):
                values = [r[key] for r in rows]
                return f"{min(values):.1f}-{max(values):.1f}"
            print(f"{n:>4} boards: call p99 {span('call_p99')} ms (base "
                  f"{span('base_call_p99')}), ticket p99 {span('ticket_p99')} ms (base "
                  f"{span('base_ticket_p99')}), RSS/worker {span('rss_mib')} MiB (peak "
                  f"{span('hwm_mib')}), "
                  f"refused {span('refusals')}")


if __name__ == "__main__":
    main()
