"""Ticket issuing throughput and latency, as a fraction of the same server's /healthz.

    .venv/bin/python bench/tickets.py [--seconds 5] [--connections 16] [--workers N]

Starts its own gunicorn (tests/servers.py, fresh DATA_DIR with the demo data,
RATE_LIMITS=off, the product's default worker and thread counts unless overridden),
then runs two phases of SECONDS each at CONNECTIONS concurrent keep-alive connections:
GET /healthz (the baseline: the whole stack without the domain), then
POST /api/v1/sites/<site>/tickets spread over every hall and ten services without a
quota, so quotas and opening hours never refuse one. Prints requests/s, p50 and p99 for
both, the workers' CPU time per request (from /proc) and the ratio. Aim: tickets >= 0.6
of /healthz, ticket p99 < 50 ms.

The client is one thread per connection on http.client (C-level socket and header
work, no pool or retry layers), so it leaves the CPU to the server; its own CPU time
is printed so a reader can judge.
"""
import argparse
import http.client
import json
import os
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.config import SETTINGS  # noqa: E402
from app.demo import KECAMATAN, slug  # noqa: E402
from tests.servers import Server  # noqa: E402

SITES = ["induk"] + [slug(name) for _code, name, _zone in KECAMATAN]
# Offered at every hall, no daily quota, open all day Monday.
SERVICES = ["ADM-KK", "ADM-KTP", "ADM-LAHIR", "ADM-MATI", "ADM-PINDAH", "IZN-NIB",
            "BPJ-DAFTAR", "KUA-NIKAH", "PTN-SK", "INFO"]


def percentile(sorted_values, q):
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, int(round(q * (len(sorted_values) - 1))))
    return sorted_values[index]


def run_phase(port, seconds, connections, make_request, warmup=0.5):
    """Each connection sends requests back to back until the deadline. Returns
    (requests per second, sorted latencies in ms, error count, sample failure)."""
    barrier = threading.Barrier(connections + 1)
    results = [None] * connections

    def worker(index):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        latencies, errors, failure, n = [], 0, None, 0
        barrier.wait()
        start = time.perf_counter()
        warm_until, stop_at = start + warmup, start + warmup + seconds
        while True:
            method, path, body, headers = make_request(index, n)
            n += 1
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
            if t0 < warm_until:
                continue
            if status >= 400 or status == 0:
                errors += 1
                failure = failure or (status, payload[:300])
            latencies.append((t1 - t0) * 1000)
        conn.close()
        results[index] = (latencies, errors, failure)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(connections)]
    for t in threads:
        t.start()
    barrier.wait()
    for t in threads:
        t.join()
    latencies = sorted(x for r in results for x in r[0])
    errors = sum(r[1] for r in results)
    failure = next((r[2] for r in results if r[2]), None)
    return len(latencies) / seconds, latencies, errors, failure


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


def measured(server, seconds, connections, make_request):
    before = server_cpu_seconds(server.process.pid)
    result = run_phase(server.port, seconds, connections, make_request)
    after = server_cpu_seconds(server.process.pid)
    cpu = (after - before) if before is not None and after is not None else None
    return result + (cpu,)


def healthz(_index, _n):
    return "GET", "/healthz", None, {}


def ticket(index, n):
    site = SITES[(index + n) % len(SITES)]
    service = SERVICES[(index * 7 + n) % len(SERVICES)]
    body = json.dumps({"service": service})
    return ("POST", f"/api/v1/sites/{site}/tickets", body,
            {"Content-Type": "application/json"})


def describe(name, phase, seconds, warmup=0.5):
    rps, latencies, errors, _failure, cpu = phase
    line = (f"{name:<10} {rps:8.0f} req/s   p50 {percentile(latencies, .5):6.1f} ms   "
            f"p99 {percentile(latencies, .99):6.1f} ms   errors {errors}")
    if cpu is not None and rps:
        line += f"   server CPU {cpu * 1000 / (rps * (seconds + warmup)):.2f} ms/req"
    return line


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=int(SETTINGS["WEB_CONCURRENCY"][0]))
    parser.add_argument("--threads", type=int, default=int(SETTINGS["GUNICORN_THREADS"][0]))
    parser.add_argument("--database-url", default="",
                        help="run against this database instead of a fresh SQLite file")
    args = parser.parse_args()

    data_dir = Path(tempfile.mkdtemp(prefix="mpp-bench-"))
    env = {"RATE_LIMITS": "off", "ACCESS_LOG": "off", "LOG_LEVEL": "WARNING",
           "BACKUP_AUTO": "off"}
    if args.database_url:
        env["DATABASE_URL"] = args.database_url
    server = Server(data_dir, workers=args.workers, threads=args.threads, env=env)
    try:
        server.start()
        print(f"gunicorn: {args.workers} workers x {args.threads} threads, "
              f"{args.connections} keep-alive connections, {args.seconds:g} s per phase, "
              f"{os.cpu_count()} CPUs, database: {args.database_url or 'SQLite'}")
        cpu0 = time.process_time()
        base = measured(server, args.seconds, args.connections, healthz)
        issued = measured(server, args.seconds, args.connections, ticket)
        client_cpu = time.process_time() - cpu0
    finally:
        server.stop()
        log = server.log() if server.log_path.exists() else ""
        shutil.rmtree(data_dir, ignore_errors=True)

    print(describe("/healthz", base, args.seconds))
    print(describe("tickets", issued, args.seconds))
    ratio = issued[0] / base[0] if base[0] else 0.0
    p99 = percentile(issued[1], .99)
    print(f"ratio tickets / healthz: {ratio:.2f} (aim >= 0.60); ticket p99 {p99:.1f} ms "
          f"(aim < 50 ms); client CPU {client_cpu:.1f} s over "
          f"{2 * (args.seconds + 0.5):.0f} s")
    for name, phase in (("healthz", base), ("tickets", issued)):
        if phase[3]:
            print(f"first {name} failure: {phase[3]}")
    if "Traceback" in log:
        print("server log has tracebacks:\n" + log[-2000:])
    ok = ratio >= 0.6 and p99 < 50 and not base[2] and not issued[2]
    print("AIM MET" if ok else "AIM MISSED")
    return 0


if __name__ == "__main__":
    sys.exit(main())
