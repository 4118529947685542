"""Ticket issuing and call-next throughput and latency, as a fraction of the same
server's /healthz, with short lanes and with one lane of 5,000 waiting.

    .venv/bin/python bench/tickets.py [--seconds 5] [--connections 16] [--workers N]
                                      [--long-lane 5000] [--phases healthz,tickets,...]

Starts its own gunicorn (tests/servers.py, fresh DATA_DIR with the demo data,
RATE_LIMITS=off, the product's default worker and thread counts unless overridden).
Before it starts, the bench fills the Induk's lane A (ADM-KTP) with LONG_LANE waiting
tickets, ten ADM-KTP tickets at each Mini MPP, and gives the Induk CONNECTIONS extra
counters (B1, B2, ...) serving ADM-KTP. Then phases of SECONDS each at CONNECTIONS
concurrent keep-alive connections:

- healthz: GET /healthz, the baseline (the whole stack without the domain);
- tickets: POST /api/v1/sites/<site>/tickets spread over every hall and ten services
  without a quota (lanes of about ten waiting);
- calls: each connection owns one Mini MPP's counter L1 and repeats the cycle "issue an
  ADM-KTP ticket there, call-next, finish the called ticket", so its lane stays at about
  ten waiting; call-next's own rate and latency are printed beside the cycle's;
- tickets@long and calls@long: the same into the Induk's lane of LONG_LANE waiting (the
  calls on counters B1, B2, ...).

Prints requests/s, p50 and p99, the workers' CPU time per request (from /proc) and
each phase's ratio to /healthz. Aim: tickets and call-next >= 0.6 of /healthz,
p99 < 50 ms, and the same figures with 5,000 waiting.

The client is one thread per connection on http.client (C-level socket and header
work, no pool or retry layers), so it leaves the CPU to the server; its own CPU time
is printed so a reader can judge.
"""
import argparse
import datetime as dt
import http.client
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.config import SETTINGS  # noqa: E402
from app.demo import KECAMATAN, slug  # noqa: E402
from tests.servers import VENV_BIN, Server  # noqa: E402

SITES = ["induk"] + [slug(name) for _code, name, _zone in KECAMATAN]
# Offered at every hall, no daily quota, open all day Monday.
SERVICES = ["ADM-KK", "ADM-KTP", "ADM-LAHIR", "ADM-MATI", "ADM-PINDAH", "IZN-NIB",
            "BPJ-DAFTAR", "KUA-NIKAH", "PTN-SK", "INFO"]
LONG_SITE, LONG_SERVICE = "induk", "ADM-KTP"


def percentile(sorted_values, q):
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, int(round(q * (len(sorted_values) - 1))))
    return sorted_values[index]


def run_phase(port, seconds, connections, make_script, warmup=0.5):
    """Each connection runs its script's requests back to back until the deadline.
    Returns (requests per second, sorted latencies in ms, error count, sample failure,
    {kind: sorted latencies})."""
    barrier = threading.Barrier(connections + 1)
    results = [None] * connections

    def worker(index):
        script = make_script(index)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        latencies, errors, failure = [], 0, None
        barrier.wait()
        start = time.perf_counter()
        warm_until, stop_at = start + warmup, start + warmup + seconds
        while True:
            kind, method, path, body, headers = script.next()
            t0 = time.perf_counter()
            if t0 >= stop_at:
                break
            try:
                conn.request(method, path, body=body, headers=headers)
                response = conn.getresponse()
                payload = response.read()
                status = response.status
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                status, payload = 0, repr(exc).encode()
            t1 = time.perf_counter()
            script.got(status, payload)
            if t0 < warm_until:
                continue
            if status >= 400 or status == 0:
                errors += 1
                failure = failure or (kind, status, payload[:300])
            latencies.append((kind, (t1 - t0) * 1000))
        conn.close()
        results[index] = (latencies, errors, failure)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(connections)]
    for t in threads:
        t.start()
    barrier.wait()
    for t in threads:
        t.join()
    by_kind: dict[str, list[float]] = {}
    for r in results:
        for kind, ms in r[0]:
            by_kind.setdefault(kind, []).append(ms)
    latencies = sorted(ms for values in by_kind.values() for ms in values)
    errors = sum(r[1] for r in results)
    failure = next((r[2] for r in results if r[2]), None)
    return (len(latencies) / seconds, latencies, errors, failure,
            {kind: sorted(values) for kind, values in by_kind.items()})


def server_cpu_seconds(master_pid):
    """User+system CPU of gunicorn's workers so far (Linux /proc), or None."""
    try:
        children = Path(f"/proc/{master_pid}/task/{master_pid}/children").read_text().split()
        total = 0
        for pid in children:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
        return total / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def measured(server, seconds, connections, make_script):
    before = server_cpu_seconds(server.process.pid)
    result = run_phase(server.port, seconds, connections, make_script)
    after = server_cpu_seconds(server.process.pid)
    cpu = (after - before) if before is not None and after is not None else None
    return result + (cpu,)


JSON = {"Content-Type": "application/json"}


class Repeat:
    """A script of one request, built from (connection, n)."""

    def __init__(self, index, build):
        self.index, self.n, self.build = index, 0, build

    def next(self):
        self.n += 1
        return self.build(self.index, self.n - 1)

    def got(self, status, payload):
        pass


def healthz(index):
    return Repeat(index, lambda _i, _n: ("healthz", "GET", "/healthz", None, {}))


def _ticket(site, service):
    return ("ticket", "POST", f"/api/v1/sites/{site}/tickets",
            json.dumps({"service": service}), JSON)


def tickets(index):
    return Repeat(index, lambda i, n: _ticket(SITES[(i + n) % len(SITES)],
                                              SERVICES[(i * 7 + n) % len(SERVICES)]))


def long_tickets(index):
    return Repeat(index, lambda _i, _n: _ticket(LONG_SITE, LONG_SERVICE))


class CallCycle:
    """Issue a ticket into the counter's lane, call-next, finish what was called."""

    def __init__(self, site, counter, token):
        self.site, self.counter = site, counter
        self.auth = {"Authorization": f"Bearer {token}", **JSON}
        self.step, self.called = 0, None

    def next(self):
        step, self.step = self.step, (self.step + 1) % 3
        if step == 0:
            return _ticket(self.site, LONG_SERVICE)
        if step == 1:
            return ("call-next", "POST",
                    f"/api/v1/sites/{self.site}/counters/{self.counter}/call-next",
                    None, self.auth)
        if self.called is None:  # nothing was called: issue again instead
            return _ticket(self.site, LONG_SERVICE)
        called, self.called = self.called, None
        return ("finish", "POST", f"/api/v1/tickets/{called}/finish",
                json.dumps({"outcome": "completed"}), self.auth)

    def got(self, status, payload):
        if self.step == 2:  # the answer to call-next
            self.called = json.loads(payload)["ticket"]["id"] if status == 200 else None


def calls(tokens):
    return lambda index: CallCycle(SITES[1 + index % (len(SITES) - 1)], "L1",
                                   tokens[SITES[1 + index % (len(SITES) - 1)]])


def long_calls(tokens):
    return lambda index: CallCycle(LONG_SITE, f"B{index + 1}", tokens[LONG_SITE])


def fill(data_dir, env, long_lane, extra_counters):
    """The lanes the phases start from, made by the domain verbs (no events: nothing
    listens yet): LONG_LANE waiting at the Induk's lane A, ten at each Mini MPP's, and
    the Induk's extra counters B1.. serving ADM-KTP."""
    os.environ.update(env)
    from app import create_app
    from app.clock import WITA
    from app.db import database
    from app.domain import audit, counters, queueing
    from app.models import Site

    app = create_app({"DATA_DIR": str(data_dir)})
    start = dt.datetime(2026, 11, 30, 8, 0, tzinfo=WITA)
    with app.app_context():
        ktp = queueing.get_service(LONG_SERVICE)
        induk = Site.get(Site.code == LONG_SITE)
        for number in range(extra_counters):
            counters.create_counter(audit.SYSTEM, induk, {
                "code": f"B{number + 1}", "name": f"Loket Bench {number + 1}",
                "number": 100 + number, "services": [LONG_SERVICE]}, start)
        for n in range(long_lane):
            queueing.issue_ticket(induk, ktp, start + dt.timedelta(milliseconds=300 * n))
        for code in SITES[1:]:
            site = Site.get(Site.code == code)
            for n in range(10):
                queueing.issue_ticket(site, ktp, start + dt.timedelta(seconds=n))
    database.close()
    database.obj.close_all()


def login(port, username):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("POST", "/api/v1/auth/token",
                 json.dumps({"username": username, "password": "demo"}), JSON)
    token = json.loads(conn.getresponse().read())["token"]
    conn.close()
    return token


def describe(name, phase, seconds, base_rps=None, warmup=0.5):
    rps, latencies, errors, _failure, by_kind, cpu = phase
    line = (f"{name:<13} {rps:7.0f} req/s  p50 {percentile(latencies, .5):6.1f} ms  "
            f"p99 {percentile(latencies, .99):6.1f} ms  errors {errors}")
    if cpu is not None and rps:
        line += f"  server CPU {cpu * 1000 / (rps * (seconds + warmup)):.2f} ms/req"
    if base_rps:
        line += f"  ratio {rps / base_rps:.2f}"
    lines = [line]
    if len(by_kind) > 1:
        for kind, values in sorted(by_kind.items()):
            lines.append(f"  {kind:<11} {len(values) / seconds:7.0f} req/s  "
                         f"p50 {percentile(values, .5):6.1f} ms  "
                         f"p99 {percentile(values, .99):6.1f} ms")
    return "\n".join(lines)


PHASES = ("healthz", "tickets", "calls", "tickets@long", "calls@long")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=int(SETTINGS["WEB_CONCURRENCY"][0]))
    parser.add_argument("--threads", type=int, default=int(SETTINGS["GUNICORN_THREADS"][0]))
    parser.add_argument("--long-lane", type=int, default=5000,
                        help="tickets waiting in the Induk's lane A before the @long phases")
    parser.add_argument("--phases", default=",".join(PHASES),
                        help="which phases, comma-separated (healthz always runs first)")
    parser.add_argument("--database-url", default="",
                        help="run against this database instead of a fresh SQLite file")
    args = parser.parse_args()
    wanted = [p for p in PHASES if p == "healthz" or p in args.phases.split(",")]

    data_dir = Path(tempfile.mkdtemp(prefix="mpp-bench-"))
    env = {"RATE_LIMITS": "off", "ACCESS_LOG": "off", "LOG_LEVEL": "WARNING",
           "BACKUP_AUTO": "off"}
    if args.database_url:
        env["DATABASE_URL"] = args.database_url
    server = Server(data_dir, workers=args.workers, threads=args.threads, env=env)
    results = {}
    try:
        t0 = time.monotonic()
        subprocess.run([str(VENV_BIN / "flask"), "--app", "wsgi", "mpp", "setup"],
                       cwd=ROOT, env=server.env, check=True, capture_output=True)
        fill(data_dir, {k: server.env[k] for k in ("DATA_DIR", *env)}, args.long_lane,
             args.connections)
        server.setup = False
        server.start()
        print(f"gunicorn: {args.workers} workers x {args.threads} threads, "
              f"{args.connections} keep-alive connections, {args.seconds:g} s per phase, "
              f"{os.cpu_count()} CPUs, database: {args.database_url or 'SQLite'}, "
              f"lanes filled in {time.monotonic() - t0:.0f} s")
        tokens = {code: login(server.port, f"operator.{code}") for code in SITES}
        scripts = {"healthz": healthz, "tickets": tickets, "calls": calls(tokens),
                   "tickets@long": long_tickets, "calls@long": long_calls(tokens)}
        cpu0 = time.process_time()
        for name in wanted:
            results[name] = measured(server, args.seconds, args.connections, scripts[name])
        client_cpu = time.process_time() - cpu0
    finally:
        server.stop()
        log = server.log() if server.log_path.exists() else ""
        shutil.rmtree(data_dir, ignore_errors=True)

    base = results["healthz"][0]
    for name, phase in results.items():
        print(describe(name, phase, args.seconds, None if name == "healthz" else base))
    print(f"client CPU {client_cpu:.1f} s over "
          f"{len(results) * (args.seconds + 0.5):.0f} s")
    for name, phase in results.items():
        if phase[3]:
            print(f"first {name} failure: {phase[3]}")
    if "Traceback" in log:
        print("server log has tracebacks:\n" + log[-2000:])
    ok = not any(phase[2] for phase in results.values())
    aims = []
    for name in ("tickets", "tickets@long"):
        if name in results:
            aims.append(results[name][0] / base >= 0.6
                        and percentile(results[name][1], .99) < 50)
    for name in ("calls", "calls@long"):
        if name in results:
            values = results[name][4].get("call-next", [])
            aims.append(results[name][0] / base >= 0.6 and percentile(values, .99) < 50)
    print("AIM MET" if ok and all(aims) else "AIM MISSED")
    return 0


if __name__ == "__main__":
    sys.exit(main())
