"""Where a ticket's CPU goes: the floor under bench/tickets.py's ratio.

    .venv/bin/python bench/ticket_floor.py [--requests 3000]

One request at a time, so the figures are CPU per request without contention:

1. in-process: the WSGI app called directly (no HTTP, no gunicorn) on a fresh SQLite
   demo, for `GET /healthz` and `POST /api/v1/sites/<site>/tickets` (the same spread
   of halls and services as bench/tickets.py); the ticket twice: with the board
   publisher swapped for the NullPublisher (the request thread's own work) and with
   the product's publisher (its thread's enrichment and fan-out included);
2. gunicorn, one worker, one thread, one keep-alive connection: the same two requests
   through the HTTP server, the worker's CPU per request from /proc.

Prints each, the HTTP server's share (gunicorn minus in-process), and what the ratio of
bench/tickets.py would be if the ticket's own work (ticket minus /healthz) took
nothing more than it does here: ratio = healthz / ticket, and for a ratio of 0.6 the
ticket's own work would have to fit in 2/3 of a /healthz.
"""
import argparse
import http.client
import io
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.tickets import SERVICES, SITES  # noqa: E402
from tests.servers import OPEN_MONDAY, Server  # noqa: E402


def ticket_request(n: int) -> tuple[str, str, bytes]:
    site = SITES[n % len(SITES)]
    service = SERVICES[(n * 7) % len(SERVICES)]
    return "POST", f"/api/v1/sites/{site}/tickets", json.dumps({"service": service}).encode()


def healthz_request(_n: int) -> tuple[str, str, bytes]:
    return "GET", "/healthz", b""


def in_process(requests: int) -> dict[str, float]:
    from app import create_app, events
    from app.db import database
    app = create_app({"DATA_DIR": tempfile.mkdtemp(prefix="mpp-floor-"),
                      "MPP_CLOCK_START": OPEN_MONDAY, "RATE_LIMITS": "off",
                      "LOG_LEVEL": "WARNING", "BACKUP_AUTO": "off"})
    with app.app_context():
        from app.cli import setup
        setup()
    if not database.is_closed():
        database.close()

    def call(method, path, body):
        environ = {"REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": "",
                   "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8000",
                   "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "127.0.0.1",
                   "HTTP_HOST": "127.0.0.1:8000", "wsgi.url_scheme": "http",
                   "wsgi.input": io.BytesIO(body), "wsgi.errors": sys.stderr,
                   "wsgi.multithread": True, "wsgi.multiprocess": False,
                   "wsgi.run_once": False, "wsgi.version": (1, 0),
                   "CONTENT_LENGTH": str(len(body)),
                   "CONTENT_TYPE": "application/json" if body else ""}
        status = []
        chunks = app(environ, lambda s, h, e=None: status.append(s))
        b"".join(chunks)
        getattr(chunks, "close", lambda: None)()
        if not status[0].startswith(("200", "201")):
            raise RuntimeError(f"{method} {path}: {status[0]}")

    def drain():  # the publisher's thread has done its share
        getattr(events.publisher(), "flush", lambda: None)()

    def cpu_per_request(make, n):
        for i in range(200):  # warm: caches, prepared statements, the pool
            call(*make(i))
        drain()
        start = time.process_time()
        for i in range(n):
            call(*make(i))
            drain()  # one event at a time, as through gunicorn below
        return (time.process_time() - start) / n * 1000

    out = {"healthz": cpu_per_request(healthz_request, requests)}
    out["ticket, with the board publisher"] = cpu_per_request(ticket_request, requests)
    product_publisher = events.publisher()
    events.install(events.NullPublisher())
    out["ticket, request thread only"] = cpu_per_request(ticket_request, requests)
    events.install(product_publisher)
    return out


def through_gunicorn(requests: int) -> dict[str, float]:
    data_dir = Path(tempfile.mkdtemp(prefix="mpp-floor-"))
    env = {"RATE_LIMITS": "off", "ACCESS_LOG": "off", "LOG_LEVEL": "WARNING"}
    with Server(data_dir, workers=1, threads=1, env=env) as server:
        pids = [int(p) for p in os.popen(f"pgrep -P {server.process.pid}").read().split()]
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)

        def worker_cpu():
            total = 0
            for pid in pids:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                total += int(fields[11]) + int(fields[12])
            return total / os.sysconf("SC_CLK_TCK")

        def cpu_per_request(make, n):
            def run(count):
                for i in range(count):
                    method, path, body = make(i)
                    conn.request(method, path, body=body or None,
                                 headers={"Content-Type": "application/json"} if body else {})
                    response = conn.getresponse()
                    response.read()
                    if response.status not in (200, 201):
                        raise RuntimeError(f"{method} {path}: {response.status}")
            run(200)
            time.sleep(0.3)
            start = worker_cpu()
            run(n)
            time.sleep(0.3)  # the publisher's thread finishes
            return (worker_cpu() - start) / n * 1000

        out = {"healthz": cpu_per_request(healthz_request, requests)}
        out["ticket, with the board publisher"] = cpu_per_request(ticket_request, requests)
        conn.close()
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=3000)
    args = parser.parse_args()
    inside = in_process(args.requests)
    http_server = through_gunicorn(args.requests)
    print(f"CPU per request, one at a time ({args.requests} each, {os.cpu_count()} CPUs, "
          f"SQLite, no boards connected):")
    print(f"{'':34} {'in-process':>11} {'gunicorn':>10} {'HTTP share':>11}")
    for name, value in inside.items():
        served = http_server.get(name)
        line = f"{name:34} {value:8.3f} ms"
        if served is not None:
            line += f" {served:7.3f} ms {served - value:8.3f} ms"
        print(line)
    healthz = http_server["healthz"]
    ticket = http_server["ticket, with the board publisher"]
    own = ticket - healthz
    print(f"\nthrough gunicorn: a ticket's own work (ticket - /healthz) {own:.3f} ms; "
          f"ratio healthz / ticket {healthz / ticket:.2f}")
    print(f"for a ratio of 0.6 the ticket's own work would have to fit in "
          f"{healthz / 0.6 - healthz:.3f} ms (2/3 of a /healthz); it takes "
          f"{own / (healthz / 0.6 - healthz):.1f} times that")
    return 0


if __name__ == "__main__":
    sys.exit(main())
