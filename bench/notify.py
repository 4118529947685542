"""Notifications at volume: 10,000 queued messages drain through a local gateway; how
many messages per second, and the kiosk's ticket latency while they drain against the
same without them (baseline measured first, on the same server, in the same run).

    .venv/bin/python bench/notify.py                       # make run's defaults
    .venv/bin/python bench/notify.py --messages 2000 --gateway-ms 20
    .venv/bin/python bench/notify.py --database-url postgresql://...   # a throwaway db
    .venv/bin/python bench/notify.py --separate   # the sender as `flask mpp notify --loop`

The server is tests/servers.py's gunicorn (all-in-one, the demo data, RATE_LIMITS=off,
the product's WEB_CONCURRENCY and GUNICORN_THREADS) with NOTIFY_WHATSAPP_URL pointing
at tests/fake_gateway.py's HTTP server in this process (it records each request and
answers 200 after --gateway-ms). The sender is the workers' thread, or with --separate
its own process (NOTIFY_SENDER_THREAD=off and `flask mpp notify --loop`). Phases:

- baseline: TICKETS kiosk tickets, one after another (`POST /api/v1/sites/<site>/
  tickets`), their latency; nothing queued;
- drain: MESSAGES rows inserted into the outbox at once (distinct numbers, so the daily
  limit does not hold them back), then tickets issued the same way until the gateway
  has every message; messages per second from the insert's commit to the last one
  received, and the tickets' latency meanwhile.
"""
import argparse
import datetime as dt
import http.client
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from app.config import SETTINGS  # noqa: E402
from tests.fake_gateway import FakeGateway  # noqa: E402
from tests.servers import VENV_BIN, Server  # noqa: E402

SITE, SERVICE = "tabang", "ADM-KTP"


def percentile(sorted_values, q):
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


def tickets(port, count=None, until=None):
    """Tickets one after another; their latencies in ms (sorted)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    body = json.dumps({"service": SERVICE})
    latencies, errors = [], 0
    n = 0
    while (count is None or n < count) and (until is None or not until()):
        t0 = time.perf_counter()
        conn.request("POST", f"/api/v1/sites/{SITE}/tickets", body=body,
                     headers={"Content-Type": "application/json"})
        response = conn.getresponse()
        response.read()
        latencies.append((time.perf_counter() - t0) * 1000)
        errors += response.status != 201
        n += 1
    conn.close()
    return sorted(latencies), errors


def queue_messages(data_dir: Path, database_url: str, count: int) -> float:
    """MESSAGES pending rows in one transaction, through the app's own models."""
    from app import create_app
    from app.db import database, write_transaction
    from app.models import Notification, Site
    settings = {"DATA_DIR": str(data_dir), "TESTING": True}
    if database_url:
        settings["DATABASE_URL"] = database_url
    create_app(settings)
    database.connect(reuse_if_open=True)
    site = Site.get(Site.code == SITE)
    due = dt.datetime(2026, 11, 29)  # due at once (the server's clock is on 30 November)
    numbers = random.sample(range(10**8, 10**9), count)
    rows = [{"key": f"bench:{n}", "site": site.id, "purpose": "case", "kind": "case_ready",
             "ref": f"KK-{n:04d}", "phone": f"+62812{number}", "urgent": False,
             "owner": "centre", "status": "pending",
             "body": f"Mini MPP Kukar: berkas KK-{n:04d} siap diambil di Mini MPP Tabang.",
             "created_at": due, "next_attempt_at": due}
            for n, number in enumerate(numbers)]
    with write_transaction():
        for start in range(0, len(rows), 500):
            Notification.insert_many(rows[start:start + 500]).execute()
    committed = time.perf_counter()
    database.close()
    return committed


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--tickets", type=int, default=300, help="baseline tickets")
    parser.add_argument("--gateway-ms", type=float, default=0.0,
                        help="the gateway's answer time per message")
    parser.add_argument("--workers", type=int, default=int(SETTINGS["WEB_CONCURRENCY"][0]))
    parser.add_argument("--threads", type=int, default=int(SETTINGS["GUNICORN_THREADS"][0]))
    parser.add_argument("--database-url", default="",
                        help="run against this (throwaway) database instead of SQLite")
    parser.add_argument("--timeout", type=float, default=600.0)
    parser.add_argument("--separate", action="store_true",
                        help="send from a `flask mpp notify --loop` process, not the workers")
    args = parser.parse_args()

    data_dir = Path(tempfile.mkdtemp(prefix="mpp-bench-notify-"))
    with FakeGateway() as gateway:
        gateway.delay = args.gateway_ms / 1000
        env = {"RATE_LIMITS": "off", "ACCESS_LOG": "off", "LOG_LEVEL": "WARNING",
               "NOTIFY_WHATSAPP_URL": gateway.url, "NOTIFY_DAILY_LIMIT": "1000"}
        if args.database_url:
            env["DATABASE_URL"] = args.database_url
        if args.separate:
            env["NOTIFY_SENDER_THREAD"] = "off"
        loop = None
        server = Server(data_dir, workers=args.workers, threads=args.threads, env=env)
        try:
            server.start()
            if args.separate:
                loop = subprocess.Popen(
                    [str(VENV_BIN / "flask"), "--app", "wsgi", "mpp", "notify", "--loop",
                     "--interval", "0.5"], cwd=ROOT, env=server.env,
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            print(f"sender: {'flask mpp notify --loop' if args.separate else 'worker thread'}")
            print(f"gunicorn: {args.workers} workers x {args.threads} threads, "
                  f"{os.cpu_count()} CPUs, database: {args.database_url or 'SQLite'}, "
                  f"gateway answers after {args.gateway_ms:g} ms")
            tickets(server.port, 30)  # warm-up
            base, base_errors = tickets(server.port, args.tickets)
            start = queue_messages(data_dir, args.database_url, args.messages)
            deadline = start + args.timeout

            def drained():
                return (len(gateway.delivered) >= args.messages
                        or time.perf_counter() > deadline)
            during, during_errors = tickets(server.port, until=drained)
            while not drained():
                time.sleep(0.05)
            elapsed = time.perf_counter() - start
            log = server.log()
        finally:
            if loop is not None:
                loop.terminate()
                loop.wait(timeout=15)
            server.stop()
            shutil.rmtree(data_dir, ignore_errors=True)
        delivered, requests_seen = len(gateway.delivered), len(gateway.requests)

    print(f"drain: {delivered} of {args.messages} messages in {elapsed:.1f} s = "
          f"{delivered / elapsed:.0f} messages/s ({requests_seen} gateway requests)")
    for name, values, errors in (("tickets, baseline", base, base_errors),
                                 ("tickets, draining", during, during_errors)):
        print(f"{name:<18} n={len(values):5d}  p50 {percentile(values, .5):6.1f} ms  "
              f"p99 {percentile(values, .99):6.1f} ms  errors {errors}")
    ratio = percentile(during, .99) / percentile(base, .99) if base else float("nan")
    print(f"ticket p99 while draining / baseline: {ratio:.2f}")
    if "Traceback" in log:
        print("server log has a traceback:\n" + log[-3000:])
    if delivered < args.messages:
        sys.exit("not every message was delivered in time")


if __name__ == "__main__":
    main()
