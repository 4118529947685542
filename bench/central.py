"""Central under staff load: the MPP Induk's server (MPP_ROLE=central) on PostgreSQL
with two gunicorn workers and Redis, 400 signed-in consoles and 100 boards connected,
40 operators calling and finishing tickets and 20 kiosks issuing them.

    .venv/bin/python bench/central.py                      # 30 s under load
    .venv/bin/python bench/central.py --seconds 60 --serve-seconds 0.5
    .venv/bin/python bench/central.py --consoles 100 --boards 20 --keep-db

What it starts: a throwaway PostgreSQL database (tests/pg.py) migrated with the demo
data, more operator accounts made by the domain's own verb (`users.create_user`, the
demo's shared password) so every console is a distinct person, then tests/servers.py's
gunicorn with MPP_ROLE=central, WEB_CONCURRENCY=2, REDIS_URL (events fan out across
the two workers through Redis pub/sub) and RATE_LIMITS=off.

The phases, one after another on the same server (a 3 s warm-up of the load first,
not counted):

1. baseline: `GET /healthz` from as many keep-alive connections as the load uses
   (callers + kiosks), BASELINE seconds;
2. bare: the callers and kiosks with no console or board connected, BASELINE seconds:
   call-next's baseline;
3. loaded: CONSOLES consoles (each operator signs in at /loket/masuk, then opens
   `/ws/loket/<site>?counter=<code>` with that session's cookie and the page's
   Origin: its waiting list comes pushed down the socket) and BOARDS
   boards (`/ws/boards/<site>`) spread over the 21 halls, then the callers and kiosks
   for SECONDS. Each caller is one operator with a bearer token at one counter
   (induk's four and three of each of twelve halls): call-next, start, finish
   (outcome completed), again; a 204 (nobody waiting) waits 100 ms. Each kiosk issues
   tickets of ten services without a quota at the callers' halls, one after another.
   call-next answered 204 is counted apart from the calls (it does less work).

By default everyone works back to back (a closed loop: the latency then includes the
wait for a busy server, at most connections / throughput); `--serve-seconds` and
`--kiosk-pause` pace them like people.

Every socket is read by ONE selector thread that parses frames by hand and answers
pings (bench/boards.py's Frames), and counts which call events reached which socket
and when. After the run the database is checked: no ticket has two `called` events
(a recall is `recalled`), no number was given twice, every call-next answer is a
distinct ticket called by that caller's counter, as many tickets finished as finishes
answered. Exits 1 when one of those breaks, when a connected socket missed a call of
its hall, or on any error response; the aim (call-next p99 under 200 ms) is printed.
"""
import argparse
import collections
import http.client
import json
import os
import queue
import random
import re
import selectors
import shutil
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
from app.demo import KECAMATAN, slug  # noqa: E402
from bench.boards import Frames, proc_status, worker_pids  # noqa: E402
from tests import boardkit, pg  # noqa: E402
from tests.servers import Server  # noqa: E402
from tests.services_up import reachable  # noqa: E402

SITES = ["induk"] + [slug(name) for _code, name, _zone in KECAMATAN]
# Offered at every hall, no daily quota, open all day Monday (as bench/tickets.py).
COUNTER_SERVICES = {
    ("induk", "L1"): ["ADM-KK", "ADM-KTP", "ADM-LAHIR", "ADM-MATI", "ADM-PINDAH"],
    ("induk", "L2"): ["IZN-NIB", "PTN-SK", "INFO"],
    ("induk", "L3"): ["BPJ-DAFTAR"],
    ("induk", "L4"): ["KUA-NIKAH"],
    ("mini", "L1"): ["ADM-KK", "ADM-KTP", "ADM-LAHIR", "ADM-MATI", "ADM-PINDAH"],
    ("mini", "L2"): ["IZN-NIB", "PTN-SK", "KUA-NIKAH", "INFO"],
    ("mini", "L3"): ["BPJ-DAFTAR", "INFO"],
}
AIM_CALL_P99_MS = 200.0
IDLE_WAIT = 0.1  # a caller's pause after a 204 (nobody waiting)
DEBOUNCE = 0.15  # static/app.js: a burst of events is one refetch, 150 ms after its first
REFETCH_EVERY = 0.75  # ... and a console refetches each part at most this often
WARMUP_SECONDS = 3.0


def pct(values, q):
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q / 100 * (len(values) - 1))))]


# --- the database and its people -------------------------------------------------------

def staff_name(site: str, k: int) -> str:
    return f"operator.{site}" if k == 0 else f"operator{k + 1}.{site}"


def demo_counters(site: str) -> int:
    return 4 if site == "induk" else 3


def console_counter(site: str, k: int) -> str:
    """The counter of a hall's k-th console: the demo's L1-L3 (L4 at the Induk), then
    one counter each (K4, K5, ...), as in a hall where every operator has a desk."""
    return f"L{k + 1}" if k < demo_counters(site) else f"K{k + 1}"


def prepare_database(data_dir: Path, url: str, per_site: dict[str, int]) -> None:
    """The schema and the demo (as the postgres fixtures do), then the extra operators
    and their counters (each serving what L1, L2 or L3 serves, in turn) through the
    domain's verbs; `demo=True` hashes the shared password once."""
    import datetime as dt

    from app import create_app
    from app.db import database
    from app.domain import audit, counters, queueing, users
    app = create_app({"DATA_DIR": str(data_dir), "DATABASE_URL": url,
                      "MPP_ROLE": "central", "LOG_LEVEL": "WARNING"})
    with app.app_context():
        from app.cli import setup
        setup()
        now = dt.datetime.now(dt.timezone.utc)
        for site, count in per_site.items():
            for k in range(1, count):
                users.create_user(audit.SYSTEM, now, staff_name(site, k),
                                  f"Operator {k + 1} {site}", "operator", site=site,
                                  password="demo", demo=True)
            hall = queueing.get_site(site)
            for k in range(demo_counters(site), count):
                like = queueing.get_counter(hall, f"L{k % demo_counters(site) + 1}")
                counters.create_counter(audit.SYSTEM, hall, {
                    "code": console_counter(site, k), "name": f"Loket {k + 1}",
                    "services": [s.code for s in queueing.services_of_counter(like)]}, now)
    if not database.is_closed():
        database.close()
    close_all = getattr(database.obj, "close_all", None)
    if close_all:
        close_all()


def counters_for(n: int) -> list[tuple[str, str]]:
    """Induk's four counters, then L1-L3 of the mini halls in order."""
    out = [("induk", code) for code in ("L1", "L2", "L3", "L4")]
    for site in SITES[1:]:
        out += [(site, code) for code in ("L1", "L2", "L3")]
    if n > len(out):
        raise SystemExit(f"at most {len(out)} callers (one per counter)")
    return out[:n]


def services_of(site: str, counter: str) -> list[str]:
    return COUNTER_SERVICES[("induk" if site == "induk" else "mini", counter)]


# --- HTTP clients ------------------------------------------------------------------------

class Recorder:
    """Latencies and statuses of one phase, from many threads."""

    def __init__(self):
        self.lock = threading.Lock()
        self.latency = collections.defaultdict(list)  # kind -> [ms]
        self.statuses = collections.Counter()  # (kind, status)
        self.failures = []  # (kind, status, body) samples
        self.calls = []  # (ticket id, number, site, counter, answered perf_counter)
        self.finished = 0

    def add(self, kind, status, ms, body=b""):
        with self.lock:
            self.statuses[(kind, status)] += 1
            if status >= 400 or status == 0:
                if len(self.failures) < 10:
                    self.failures.append((kind, status, body[:300]))
            else:
                self.latency[kind].append(ms)

    def errors(self):
        return {k: v for k, v in self.statuses.items() if k[1] >= 400 or k[1] == 0}


class Client:
    """One keep-alive connection (http.client: little client CPU)."""

    def __init__(self, port, recorder):
        self.port, self.recorder = port, recorder
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def request(self, kind, method, path, body=None, headers=None, empty_kind=None):
        """One request, recorded under `kind` (a 204 under `empty_kind` if given)."""
        headers = dict(headers or {})
        if body is not None:
            body = json.dumps(body)
            headers["Content-Type"] = "application/json"
        t0 = time.perf_counter()
        try:
            self.conn.request(method, path, body=body, headers=headers)
            response = self.conn.getresponse()
            payload = response.read()
            status = response.status
        except (OSError, http.client.HTTPException) as exc:
            self.conn.close()
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            status, payload = 0, repr(exc).encode()
        ms = (time.perf_counter() - t0) * 1000
        self.recorder.add(empty_kind if status == 204 and empty_kind else kind, status, ms,
                          payload)
        return status, payload

    def close(self):
        self.conn.close()


def caller_loop(port, recorder, token, site, counter, serve_seconds, stop):
    client = Client(port, recorder)
    auth = {"Authorization": f"Bearer {token}"}
    while not stop.is_set():
        status, payload = client.request(
            "call-next", "POST", f"/api/v1/sites/{site}/counters/{counter}/call-next",
            headers=auth, empty_kind="call-next 204")
        if status == 204:
            stop.wait(IDLE_WAIT)
            continue
        if status != 200:
            stop.wait(IDLE_WAIT)
            continue
        ticket = json.loads(payload)["ticket"]
        with recorder.lock:
            recorder.calls.append((ticket["id"], ticket["number"], site, counter,
                                   time.perf_counter()))
        # A called ticket is always served to the end, even past the deadline, so the
        # next phase starts with every counter free.
        status, _ = client.request("start", "POST", f"/api/v1/tickets/{ticket['id']}/start",
                                   headers=auth)
        if serve_seconds:
            time.sleep(serve_seconds)
        status, _ = client.request("finish", "POST",
                                   f"/api/v1/tickets/{ticket['id']}/finish",
                                   body={"outcome": "completed"}, headers=auth)
        if status == 200:
            with recorder.lock:
                recorder.finished += 1
    client.close()


def kiosk_loop(port, recorder, choices, seed, pause, stop):
    client = Client(port, recorder)
    rng = random.Random(seed)
    while not stop.is_set():
        site, service = rng.choice(choices)
        client.request("ticket", "POST", f"/api/v1/sites/{site}/tickets",
                       body={"service": service})
        if pause:
            stop.wait(pause)
    client.close()


def healthz_loop(port, recorder, stop):
    client = Client(port, recorder)
    while not stop.is_set():
        client.request("healthz", "GET", "/healthz")
    client.close()


def run_threads(targets, seconds):
    """Start every loop at once, stop them after `seconds`; returns the wall time."""
    stop = threading.Event()
    threads = [threading.Thread(target=fn, args=(*args, stop), daemon=True)
               for fn, args in targets]
    start = time.perf_counter()
    for t in threads:
        t.start()
    time.sleep(seconds)
    stop.set()
    for t in threads:
        t.join(60)
    return time.perf_counter() - start


# --- consoles and boards -----------------------------------------------------------------

CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def sign_in(server, username) -> str:
    """A console's sign-in at /loket/masuk; the session cookie as a Cookie header."""
    session = requests.Session()
    page = session.get(f"{server.url}/loket/masuk", timeout=30).text
    match = CSRF.search(page)
    if not match:
        raise RuntimeError("no CSRF token on /loket/masuk")
    r = session.post(f"{server.url}/loket/masuk", timeout=60, allow_redirects=False,
                     data={"username": username, "password": "demo",
                           "csrf_token": match.group(1)})
    if r.status_code != 302:
        raise RuntimeError(f"sign-in of {username}: {r.status_code} {r.text[:200]}")
    return "; ".join(f"{k}={v}" for k, v in session.cookies.items())


class Incoming(Frames):
    """bench/boards.py's frame parser; a socket the server closed raises OSError."""

    def read(self):
        data = self.ws.sock.recv(65536)
        if not data:
            raise ConnectionResetError("closed by the server")
        self.buffer += data
        return self.parse()

    def closed(self, payload):
        raise ConnectionResetError("close frame from the server")


class Live:
    """One console or board socket and what it received."""

    def __init__(self, ws, kind, site, cookie=None, counter=None):
        self.ws, self.kind, self.site = ws, kind, site
        self.cookie, self.counter = cookie, counter  # a console's session and counter
        self.frames = Incoming(ws)
        self.last_seq = None
        self.gaps = 0
        self.snapshots = 1
        self.lists = 0  # waiting lists pushed to a console (boards/console_lists.py)
        self.due = {}  # refetch -> when (app.js: see DEBOUNCE and REFETCH_EVERY)
        self.fired = {}  # refetch -> when it last went


def open_socket(server, kind, site, cookie=None, counter=None):
    path = (f"/ws/loket/{site}?counter={counter}" if kind == "console"
            else f"/ws/boards/{site}")
    url = server.url.replace("http://", "ws://") + path
    ws = websocket.WebSocket()
    ws.connect(url, timeout=60, origin=server.url, cookie=cookie)
    snapshot = json.loads(ws.recv())
    if snapshot.get("type") != "snapshot":
        raise RuntimeError(f"{kind} {site}: first message {snapshot.get('type')}")
    ws.sock.setblocking(True)
    live = Live(ws, kind, site, cookie, counter)
    live.last_seq = snapshot.get("seq")
    return live


def open_all(server, plan, reader, client_threads=8):
    """plan: [(kind, site, username or None)]. A console signs in first, then connects;
    each socket goes to the reader at once (it answers the server's pings from then on).
    Returns (sockets, failures, seconds)."""
    lives, failures = [], []
    lock = threading.Lock()

    def opener(items):
        for kind, site, username, counter in items:
            try:
                cookie = (sign_in(server, username) if kind == "console"
                          else boardkit.cookie(boardkit.credential_for(server, site)))
                live = open_socket(server, kind, site, cookie, counter)
            except Exception as exc:  # noqa: BLE001 - counted and reported
                with lock:
                    failures.append(f"{kind} {site}: {exc!r}"[:300])
                continue
            reader.add(live)
            with lock:
                lives.append(live)

    start = time.perf_counter()
    threads = [threading.Thread(target=opener, args=(plan[i::client_threads],))
               for i in range(client_threads)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    return lives, failures, time.perf_counter() - start


class Refetcher:
    """What a console page does on an event (static/app.js): 150 ms after the last
    event of a burst naming its counter, htmx refetches its panel, and after a gap in
    the sequence also its waiting list (`/loket/<site>/<counter>/antrean`; otherwise
    the list is pushed); a few client threads do the consoles' requests with each
    console's own session cookie."""

    def __init__(self, server, consoles, recorder, threads=16):
        self.server, self.consoles, self.recorder = server, consoles, recorder
        self.work = queue.Queue()
        self.asked = collections.Counter()  # refetches the pages would have made
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self.scan, daemon=True)]
        self.threads += [threading.Thread(target=self.fetch, daemon=True)
                         for _ in range(threads)]

    def start(self):
        for t in self.threads:
            t.start()

    def scan(self):
        while not self.stop.is_set():
            now = time.perf_counter()
            for live in self.consoles:
                for what, when in list(live.due.items()):
                    if when <= now and live.due.get(what) == when:
                        del live.due[what]
                        live.fired[what] = now
                        self.asked[what] += 1
                        self.work.put((live, what))
            self.stop.wait(0.02)
        for _ in self.threads[1:]:
            self.work.put(None)

    def fetch(self):
        client = Client(self.server.port, self.recorder)
        while True:
            item = self.work.get()
            if item is None:
                break
            if self.stop.is_set():
                continue  # the run is over: what is still queued is dropped
            live, what = item
            client.request(f"console {what}", "GET",
                           f"/loket/{live.site}/{live.counter}/{what}",
                           headers={"Cookie": live.cookie, "HX-Request": "true"})
        client.close()

    def finish(self):
        self.stop.set()
        for t in self.threads:
            t.join(60)


class Reader(threading.Thread):
    """Reads every socket: per call event (ticket id), which sockets got it and when."""

    def __init__(self):
        super().__init__(daemon=True)
        self.sel = selectors.DefaultSelector()  # epoll: registering from another thread
        self.stop = threading.Event()
        self.got = collections.defaultdict(lambda: {"console": 0, "board": 0})
        self.last_arrival = {}  # ticket id -> perf_counter of its last arrival
        self.closed = []
        self.refetch = False  # consoles refetch like static/app.js (--refetch)

    def add(self, live):
        self.sel.register(live.ws.sock, selectors.EVENT_READ, live)

    def run(self):
        while not self.stop.is_set():
            ready = self.sel.select(timeout=0.2)
            seen = time.perf_counter()
            for key, _ in ready:
                live = key.data
                try:
                    payloads = live.frames.read()
                except OSError:
                    payloads = None
                if payloads is None:
                    self.sel.unregister(key.fileobj)
                    self.closed.append(live)
                    continue
                for payload in payloads:
                    self.handle(live, payload, seen)
        self.sel.close()

    @staticmethod
    def schedule(live, what, seen):
        """As static/app.js: a pending refetch absorbs the events behind it."""
        if what not in live.due:
            live.due[what] = max(seen + DEBOUNCE, live.fired.get(what, 0) + REFETCH_EVERY)

    def handle(self, live, payload, seen):
        if b'"type":"heartbeat"' in payload:
            return
        message = json.loads(payload)
        kind = message.get("type")
        if kind == "waiting":
            live.lists += 1
            return
        if kind == "snapshot":
            live.snapshots += 1
            live.last_seq = message.get("seq")
            return
        seq = message.get("seq")
        gap = False
        if isinstance(seq, int):
            if live.last_seq is not None and seq > live.last_seq + 1:
                live.gaps += 1
                gap = True
            live.last_seq = seq
        if self.refetch and live.kind == "console":
            if gap:  # a resync refetches both; the list is pushed otherwise
                self.schedule(live, "antrean", seen)
            if gap or message.get("counter") == live.counter:
                self.schedule(live, "panel", seen)
        if kind == "call":
            ticket = message.get("ticket")
            self.got[ticket][live.kind] += 1
            self.last_arrival[ticket] = seen


def close_all(server, lives):
    for live in lives:
        try:
            live.ws.close(timeout=1)
        except (websocket.WebSocketException, OSError):
            pass
        live.ws.shutdown()


# --- the server's workers ------------------------------------------------------------------

def cpu_seconds(pid) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return float("nan")


def workers_cpu(pids):
    return {pid: cpu_seconds(pid) for pid in pids}


# --- the checks after the run ----------------------------------------------------------------

def check_database(name, calls, finished):
    """Returns a list of broken invariants (empty: all hold)."""
    broken = []
    ids = [c[0] for c in calls]
    if len(ids) != len(set(ids)):
        twice = [i for i, n in collections.Counter(ids).items() if n > 1]
        broken.append(f"call-next answered the same ticket twice: {twice[:5]}")
    numbers = collections.Counter((c[2], c[1]) for c in calls)
    if any(n > 1 for n in numbers.values()):
        broken.append("call-next answered the same number twice: "
                      f"{[k for k, n in numbers.items() if n > 1][:5]}")
    with pg.connect(name) as conn, conn.cursor() as cur:
        cur.execute("SELECT ticket_id, count(*), count(DISTINCT counter_id) FROM ticket_event"
                    " WHERE kind = 'called' GROUP BY ticket_id HAVING count(*) > 1")
        rows = cur.fetchall()
        if rows:
            broken.append(f"{len(rows)} tickets have more than one called event: {rows[:5]}")
        cur.execute("SELECT site_id, day, number, count(*) FROM ticket "
                    "GROUP BY site_id, day, number HAVING count(*) > 1")
        rows = cur.fetchall()
        if rows:
            broken.append(f"{len(rows)} numbers were given twice: {rows[:5]}")
        cur.execute("SELECT e.ticket_id, s.code, c.code FROM ticket_event e "
                    "JOIN counter c ON c.id = e.counter_id JOIN site s ON s.id = c.site_id "
                    "WHERE e.kind = 'called'")
        called_by = {row[0]: (row[1], row[2]) for row in cur.fetchall()}
        wrong = [c for c in calls if called_by.get(c[0]) != (c[2], c[3])]
        if wrong:
            broken.append(f"{len(wrong)} call-next answers disagree with the database's "
                          f"called event (missing or another counter): {wrong[:3]}")
        if len(called_by) != len(set(ids)):
            broken.append(f"the database has {len(called_by)} called tickets, call-next "
                          f"answered {len(set(ids))}")
        cur.execute("SELECT count(*) FROM ticket WHERE status = 'done'")
        done = cur.fetchone()[0]
        if done != finished:
            broken.append(f"{done} tickets finished in the database, {finished} finishes "
                          "answered 200")
        cur.execute("SELECT count(*) FROM ticket")
        total = cur.fetchone()[0]
    return broken, total


# --- the run ---------------------------------------------------------------------------------

def spread(total, sites):
    """total items over sites, round robin: {site: count}."""
    out = collections.Counter()
    for i in range(total):
        out[sites[i % len(sites)]] += 1
    return out


def describe(name, values, unit="ms"):
    return (f"{name:<22} n={len(values):>6}  p50 {pct(values, 50):7.1f} {unit}  "
            f"p99 {pct(values, 99):7.1f} {unit}  max {max(values) if values else 0:7.1f} "
            f"{unit}")


def phase(server, callers, kiosks, seconds, serve_seconds, kiosk_pause, pids):
    recorder = Recorder()
    targets = [(caller_loop, (server.port, recorder, token, site, counter, serve_seconds))
               for token, site, counter in callers]
    targets += [(kiosk_loop, (server.port, recorder, choices, seed, kiosk_pause))
                for seed, choices in enumerate(kiosks)]
    cpu0, wall0 = workers_cpu(pids), time.process_time()
    wall = run_threads(targets, seconds)
    cpu1 = workers_cpu(pids)
    recorder.wall = wall
    recorder.cpu = {pid: cpu1[pid] - cpu0[pid] for pid in pids}
    recorder.client_cpu = time.process_time() - wall0
    return recorder


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="the loaded phase")
    parser.add_argument("--baseline-seconds", type=float, default=10.0,
                        help="the /healthz and the bare call-next phases")
    parser.add_argument("--consoles", type=int, default=400)
    parser.add_argument("--callers", type=int, default=40)
    parser.add_argument("--boards", type=int, default=100)
    parser.add_argument("--kiosks", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=int(SETTINGS["GUNICORN_THREADS"][0]))
    parser.add_argument("--serve-seconds", type=float, default=0.0,
                        help="a caller's pause between start and finish (default none)")
    parser.add_argument("--kiosk-pause", type=float, default=0.0,
                        help="a kiosk's pause between tickets (default none)")
    parser.add_argument("--refetch", action="store_true",
                        help="consoles refetch their panel on an event of their counter "
                             "(and both parts after a gap), as static/app.js does")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--keep-db", action="store_true",
                        help="keep the throwaway database (its name is printed)")
    args = parser.parse_args()
    if not (pg.available() and reachable(6379)):
        print("bench/central.py skipped: it needs PostgreSQL (5432) and Redis (6379) on "
              "127.0.0.1")
        return 0

    counters = counters_for(args.callers)
    caller_sites = sorted({site for site, _ in counters}, key=SITES.index)
    console_sites = spread(args.consoles, SITES)
    board_sites = spread(args.boards, SITES)
    per_site = {site: max(console_sites[site], 1 + sum(s == site for s, _ in counters))
                for site in SITES}
    choices = [(site, service) for site, counter in counters
               for service in services_of(site, counter)]
    kiosks = []
    for k in range(args.kiosks):  # each kiosk at one hall with callers
        site = caller_sites[k % len(caller_sites)]
        kiosks.append([c for c in choices if c[0] == site])

    name = pg.new_name("central")
    url = pg.create_database(name)
    data_dir = Path(tempfile.mkdtemp(prefix="bench-central-"))
    env = {"MPP_ROLE": "central", "DATABASE_URL": url, "REDIS_URL": args.redis,
           "BOARD_CHANNEL_PREFIX": f"bench-central-{uuid.uuid4().hex[:8]}:",
           "RATE_LIMITS": "off", "ACCESS_LOG": "off", "LOG_LEVEL": "WARNING"}
    broken = []
    try:
        t0 = time.perf_counter()
        prepare_database(data_dir, url, per_site)
        print(f"database {name}: demo + {sum(per_site.values())} operators "
              f"in {time.perf_counter() - t0:.1f} s; {os.cpu_count()} CPUs, load "
              f"{os.getloadavg()[0]:.1f}")
        with Server(data_dir, workers=args.workers, threads=args.threads,
                    env=env) as server:
            broken = run(server, args, counters, console_sites, board_sites, kiosks,
                         name)
            log = server.log()
        if "Traceback" in log:
            broken.append("the server logged a traceback")
            print("!! server log:\n" + log[-3000:])
    finally:
        if args.keep_db:
            print(f"kept database {name} ({url})")
        else:
            pg.drop_database(name)
        shutil.rmtree(data_dir, ignore_errors=True)
    if broken:
        print("\nINVARIANT BROKEN:\n  " + "\n  ".join(broken))
        return 1
    print("\ninvariants hold: no double call, no number twice, every call reached every "
          "connected console and board of its hall, no error")
    return 0


def run(server, args, counters, console_sites, board_sites, kiosks, name):
    pids = worker_pids(server)
    print(f"server: MPP_ROLE=central, {len(pids)} workers x {args.threads} threads, "
          f"Redis fan-out; {args.callers} callers, {args.kiosks} kiosks, "
          f"{args.consoles} consoles, {args.boards} boards")
    tokens = [server.token(staff_name(site, 1 + i % 4 if site == "induk" else
                                      1 + ["L1", "L2", "L3"].index(code)))
              for i, (site, code) in enumerate(counters)]
    callers = [(token, site, code) for token, (site, code) in zip(tokens, counters)]
    connections = args.callers + args.kiosks
    # 0. Warm-up, not counted: each worker's first requests (caches, the pool's
    # connections, imports) would otherwise land in the bare phase alone.
    warm = phase(server, callers, kiosks, WARMUP_SECONDS, args.serve_seconds,
                 args.kiosk_pause, pids)

    # 1. /healthz at the same number of connections.
    base = Recorder()
    cpu0 = workers_cpu(pids)
    wall = run_threads([(healthz_loop, (server.port, base))] * connections,
                       args.baseline_seconds)
    cpu_h = sum(workers_cpu(pids).values()) - sum(cpu0.values())
    # 2. The load with nobody connected.
    bare = phase(server, callers, kiosks, args.baseline_seconds, args.serve_seconds,
                 args.kiosk_pause, pids)
    # 3. Consoles and boards, then the load.
    plan = [("console", site, staff_name(site, k), console_counter(site, k))
            for site, n in console_sites.items() for k in range(n)]
    plan += [("board", site, None, None)
             for site, n in board_sites.items() for _ in range(n)]
    for site in board_sites:  # each hall's boards are registered devices (paired once)
        boardkit.credential_for(server, site)
    random.Random(7).shuffle(plan)
    reader = Reader()
    reader.start()
    lives, failures, open_s = open_all(server, plan, reader)
    consoles = [x for x in lives if x.kind == "console"]
    boards = [x for x in lives if x.kind == "board"]
    print(f"connected {len(consoles)}/{args.consoles} consoles (each its own sign-in) and "
          f"{len(boards)}/{args.boards} boards in {open_s:.1f} s"
          + (f"; {len(failures)} failed, e.g. {failures[0]}" if failures else ""))
    rss_idle = {pid: proc_status(pid) for pid in pids}
    refetches = Recorder()
    refetcher = Refetcher(server, consoles, refetches)
    if args.refetch:
        reader.refetch = True
        refetcher.start()
    loaded = phase(server, callers, kiosks, args.seconds, args.serve_seconds,
                   args.kiosk_pause, pids)
    time.sleep(2.0)  # the last calls' events are on their way
    reader.refetch = False
    if args.refetch:
        refetcher.finish()
    reader.stop.set()
    reader.join()
    status = {pid: proc_status(pid) for pid in pids}
    close_all(server, lives)

    # --- figures ---
    print(f"\n== {connections} connections, phases of {args.baseline_seconds:g} s "
          f"(baseline, bare) and {args.seconds:g} s (loaded) ==")
    h = base.latency["healthz"]
    print(describe("/healthz (baseline)", h) + f"  {len(h) / wall:7.0f} req/s  server CPU "
          f"{cpu_h * 1000 / max(1, len(h)):.2f} ms/req")
    for label, rec in (("bare", bare), ("loaded", loaded)):
        print(f"-- {label}: {len(rec.calls)} calls ({len(rec.calls) / rec.wall:.1f}/s), "
              f"{len(rec.latency['ticket'])} tickets "
              f"({len(rec.latency['ticket']) / rec.wall:.1f}/s), "
              f"{rec.statuses[('call-next 204', 204)]} call-next 204 (nobody waiting); server "
              f"CPU {sum(rec.cpu.values()):.1f} s of {rec.wall:.1f} s, client CPU "
              f"{rec.client_cpu:.1f} s")
        for kind in ("call-next", "call-next 204", "start", "finish", "ticket"):
            print("   " + describe(kind, rec.latency[kind]))
        if label == "loaded" and args.refetch:
            for what in ("antrean", "panel"):
                done = refetches.latency[f"console {what}"]
                print("   " + describe(f"console {what}", done) + f"  {len(done) / rec.wall:5.0f}"
                      f"/s done of {refetcher.asked[what] / rec.wall:.0f}/s asked")
            rec.statuses.update(refetches.statuses)
            rec.failures += refetches.failures
        errors = rec.errors()
        print(f"   errors by status: {dict(errors) if errors else 'none'}")
        for failure in rec.failures[:3]:
            print(f"   e.g. {failure}")
    # Deliveries.
    on_site = collections.Counter((x.kind, x.site) for x in lives)
    closed = collections.Counter(x.kind for x in reader.closed)
    missed_calls, expected = 0, {"console": 0, "board": 0}
    received = {"console": 0, "board": 0}
    after = []
    for ticket, _number, site, _counter, answered in loaded.calls:
        got = reader.got.get(ticket, {"console": 0, "board": 0})
        for kind in ("console", "board"):
            expected[kind] += on_site[(kind, site)]
            received[kind] += got[kind]
        if any(got[k] < on_site[(k, site)] for k in ("console", "board")):
            missed_calls += 1
        if ticket in reader.last_arrival:
            after.append(max(0.0, reader.last_arrival[ticket] - answered) * 1000)
    print(f"-- deliveries of the {len(loaded.calls)} calls under load: consoles "
          f"{received['console']}/{expected['console']}, boards "
          f"{received['board']}/{expected['board']}; calls that missed a socket: "
          f"{missed_calls}; sequence gaps {sum(x.gaps for x in lives)}, resync snapshots "
          f"{sum(x.snapshots - 1 for x in lives)}, sockets closed by the server "
          f"{dict(closed) or 0}")
    print("   " + describe("last socket after resp.", after))
    consoles_here = [x for x in lives if x.kind == "console"]
    print(f"   waiting lists pushed to consoles (boards/console_lists.py, warm-up included): "
          f"{sum(x.lists for x in consoles_here)} to "
          f"{sum(1 for x in consoles_here if x.lists)}/{len(consoles_here)} consoles")
    print("-- workers (pid: CPU s bare / loaded, RSS with sockets, peak RSS, threads):")
    for pid in pids:
        print(f"   {pid}: {bare.cpu[pid]:.1f} / {loaded.cpu[pid]:.1f} s, "
              f"{rss_idle[pid].get('VmRSS', 0) / 1024:.1f} MiB, "
              f"peak {status[pid].get('VmHWM', 0) / 1024:.1f} MiB, "
              f"{status[pid].get('Threads', 0)} threads")
    p99, base_p99 = pct(loaded.latency["call-next"], 99), pct(bare.latency["call-next"], 99)
    print(f"\ncall-next p99 {p99:.1f} ms under load (bare {base_p99:.1f} ms, /healthz p99 "
          f"{pct(h, 99):.1f} ms): "
          + ("AIM MET" if p99 < AIM_CALL_P99_MS else "AIM MISSED")
          + f" (< {AIM_CALL_P99_MS:.0f} ms)")

    broken = []
    finished = warm.finished + bare.finished + loaded.finished
    calls = warm.calls + bare.calls + loaded.calls
    db_broken, total = check_database(name, calls, finished)
    print(f"-- database: {total} tickets, {len(calls)} called, {finished} finished "
          f"(warm-up included)")
    broken += db_broken
    if not loaded.calls:
        broken.append("no call under load: the run proves nothing")
    if failures:
        broken.append(f"{len(failures)} consoles or boards failed to connect")
    if reader.closed:
        broken.append(f"the server closed {len(reader.closed)} consoles or boards")
    if missed_calls:
        broken.append(f"{missed_calls} calls did not reach every connected socket of "
                      "their hall")
    for label, rec in (("baseline", base), ("warm-up", warm), ("bare", bare),
                       ("loaded", loaded)):
        if rec.errors():
            broken.append(f"{label}: errors {dict(rec.errors())}")
    return broken


if __name__ == "__main__":
    sys.exit(main())
