"""Booking throughput on a real server (gunicorn, 2 workers, SQLite), against the
baseline of issuing kiosk tickets in the same run. Bounded: a few seconds per phase.

    .venv/bin/python bench/booking.py [--seconds 3] [--threads 8]
"""
import argparse
import itertools
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.servers import ROOT, VENV_BIN, Server  # noqa: E402


def run(url, make_request, seconds, threads):
    latencies, statuses, stop = [], [], time.monotonic() + seconds
    lock = threading.Lock()

    def worker():
        with requests.Session() as session:
            while time.monotonic() < stop:
                started = time.perf_counter()
                status = make_request(session)
                elapsed = time.perf_counter() - started
                with lock:
                    latencies.append(elapsed)
                    statuses.append(status)

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    begun = time.perf_counter()
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    wall = time.perf_counter() - begun
    latencies.sort()
    return {"requests": len(latencies), "per_second": len(latencies) / wall,
            "p50_ms": 1000 * statistics.median(latencies),
            "p95_ms": 1000 * latencies[int(0.95 * (len(latencies) - 1))],
            "non_2xx": sum(1 for s in statuses if s >= 300)}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, Server(Path(tmp) / "data", workers=2,
                                                       threads=16) as server:
        subprocess.run([str(VENV_BIN / "flask"), "--app", "wsgi", "mpp", "booking-settings",
                        "tabang", "ADM-KTP", "--capacity", "500"], cwd=ROOT, env=server.env,
                       check=True, capture_output=True)
        url = server.url

        def ticket(session):
            return session.post(url + "/api/v1/sites/tabang/tickets",
                                json={"service": "ADM-KTP"}, timeout=30).status_code

        serial = itertools.count(1)
        days = ["2026-11-30", "2026-12-01", "2026-12-02", "2026-12-03"]
        starts = [f"{h:02d}:{m:02d}" for h in range(10, 15) for m in (0, 30)]

        def book(session):
            n = next(serial)
            body = {"site": "tabang", "service": "ADM-KTP", "date": days[n % len(days)],
                    "start": starts[n % len(starts)], "name": "Warga Uji",
                    "nik": f"6402121708{85 + n // 9999 % 10:02d}{n % 9999 + 1:04d}",
                    "phone": "081234567890"}
            return session.post(url + "/api/v1/appointments", json=body,
                                timeout=30).status_code

        def slots(session):
            return session.get(url + "/api/v1/sites/tabang/services/ADM-KTP/slots",
                               params={"date": "2026-12-01"}, timeout=30).status_code

        results = {"baseline: issue ticket": run(url, ticket, args.seconds, args.threads),
                   "book appointment": run(url, book, args.seconds, args.threads),
                   "read slots of a day": run(url, slots, args.seconds, args.threads)}
    base = results["baseline: issue ticket"]["per_second"]
    print(f"{'phase':24} {'req':>6} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} "
          f"{'non-2xx':>8} {'vs base':>8}")
    for name, r in results.items():
        print(f"{name:24} {r['requests']:6d} {r['per_second']:8.1f} {r['p50_ms']:8.1f} "
              f"{r['p95_ms']:8.1f} {r['non_2xx']:8d} {r['per_second'] / base:8.2f}")


if __name__ == "__main__":
    main()
