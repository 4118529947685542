"""Hundreds of simultaneous tickets and several operators calling at once, against real
gunicorn workers, on SQLite and (postgres lane) on PostgreSQL.

The kiosks: 300 POSTs from 24 threads released together by a barrier, over two services
sharing prefix A (ADM-KTP, ADM-KK) and INFO (prefix R), plus 40 for SKCK, whose daily
quota at a Mini MPP is 20: exactly 20 get a number. The counters of Mini MPP
Tabang, each driven by its own account and its own thread while the tickets are still
coming in: L1 (prefix A), L2 and L3 (both serve INFO, so they race for every R ticket),
each a loop of call-next -> finish until a 204 after the last ticket was issued.
"""
import collections
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from app.db import open_database, sqlite_url

from .servers import Server

pytestmark = pytest.mark.slow

SITE = "tabang"
KIOSK_SERVICES = ["ADM-KTP", "ADM-KK", "INFO"]
PREFIX_OF = {"ADM-KTP": "A", "ADM-KK": "A", "INFO": "R", "POL-SKCK": "C"}
QUOTA_SERVICE, QUOTA, QUOTA_REQUESTS = "POL-SKCK", 20, 40
COUNTERS = {"L1": "operator.tabang", "L2": "supervisor.tabang", "L3": "admin"}
TICKETS = 300
KIOSK_THREADS = 24


def _issue_all(base: str) -> list[requests.Response]:
    """TICKETS requests from KIOSK_THREADS threads, each with its own keep-alive
    session, all starting at the same moment."""
    barrier = threading.Barrier(KIOSK_THREADS)
    total = TICKETS + QUOTA_REQUESTS
    per_thread = [list(range(i, total, KIOSK_THREADS)) for i in range(KIOSK_THREADS)]

    def kiosk(indices):
        out = []
        with requests.Session() as session:
            barrier.wait()
            for i in indices:
                service = (KIOSK_SERVICES[i % len(KIOSK_SERVICES)] if i < TICKETS
                           else QUOTA_SERVICE)
                out.append(session.post(f"{base}/api/v1/sites/{SITE}/tickets",
                                        json={"service": service}, timeout=60))
        return out

    with ThreadPoolExecutor(KIOSK_THREADS) as pool:
        return [r for batch in pool.map(kiosk, per_thread) for r in batch]


def _operate(base: str, counter: str, token: str, issuing_done: threading.Event):
    """call-next -> finish until the queue is empty after issuing has ended.
    Returns (called ticket dicts, every status code seen)."""
    called, statuses = [], []
    headers = {"Authorization": f"Bearer {token}"}
    with requests.Session() as session:
        while True:
            done_before = issuing_done.is_set()
            r = session.post(f"{base}/api/v1/sites/{SITE}/counters/{counter}/call-next",
                             headers=headers, timeout=60)
            statuses.append(r.status_code)
            if r.status_code == 204:
                if done_before:
                    return called, statuses
                issuing_done.wait(0.02)  # idle counter: look again shortly
                continue
            if r.status_code != 200:
                return called, statuses
            ticket = r.json()["ticket"]
            called.append(ticket)
            f = session.post(f"{base}/api/v1/tickets/{ticket['id']}/finish",
                             json={"outcome": "completed"}, headers=headers, timeout=60)
            statuses.append(f.status_code)
            if f.status_code != 200:
                return called, statuses


def _run_day(server: Server):
    tokens = {counter: server.token(user) for counter, user in COUNTERS.items()}
    issuing_done = threading.Event()
    with ThreadPoolExecutor(len(COUNTERS)) as operators:
        futures = {c: operators.submit(_operate, server.url, c, tokens[c], issuing_done)
                   for c in COUNTERS}
        try:
            issued = _issue_all(server.url)
        finally:
            issuing_done.set()
        results = {c: f.result(timeout=180) for c, f in futures.items()}
    return issued, results


def _check(server: Server, database_url: str, issued, results):
    codes = collections.Counter(r.status_code for r in issued)
    assert codes == {201: TICKETS + QUOTA, 409: QUOTA_REQUESTS - QUOTA}, codes
    assert {r.json()["error"]["code"] for r in issued if r.status_code == 409} == {
        "quota_reached"}
    tickets = [r.json() for r in issued if r.status_code == 201]
    total = TICKETS + QUOTA

    # Numbers: per prefix exactly 1..N, no duplicate, no gap.
    by_prefix = collections.defaultdict(list)
    for t in tickets:
        by_prefix[PREFIX_OF[t["service"]]].append(int(t["number"][1:]))
        assert t["number"][0] == PREFIX_OF[t["service"]]
    expected = collections.Counter(PREFIX_OF[KIOSK_SERVICES[i % 3]] for i in range(TICKETS))
    expected["C"] = QUOTA
    for prefix, seqs in by_prefix.items():
        assert sorted(seqs) == list(range(1, expected[prefix] + 1)), prefix
    assert len({t["id"] for t in tickets}) == total

    # Calls: every ticket exactly once, at a counter that serves it; no 5xx anywhere.
    calls = collections.Counter()
    for counter, (called, statuses) in results.items():
        assert set(statuses) <= {200, 204}, (counter, collections.Counter(statuses))
        for t in called:
            calls[t["id"]] += 1
            assert t["counter"] == counter
            assert (PREFIX_OF[t["service"]] == "A") == (counter == "L1")
            assert PREFIX_OF[t["service"]] != "C" or counter == "L3"
    assert max(calls.values()) == 1, [k for k, n in calls.items() if n > 1]
    assert set(calls) == {t["id"] for t in tickets}
    # L2 and L3 really raced for the INFO tickets (each got some).
    assert results["L2"][0] and results["L3"][0]

    # The database agrees: one `called` event per ticket, every ticket done.
    db = open_database(database_url)
    try:
        rows = db.execute_sql(
            "SELECT t.id, t.status, t.counter_id, "
            "(SELECT COUNT(*) FROM ticket_event e WHERE e.ticket_id = t.id "
            " AND e.kind = 'called'), "
            "(SELECT COUNT(DISTINCT e.counter_id) FROM ticket_event e "
            " WHERE e.ticket_id = t.id AND e.kind = 'called') FROM ticket t").fetchall()
        seq_rows = db.execute_sql("SELECT prefix, last FROM number_sequence").fetchall()
    finally:
        db.close()
        getattr(db, "close_all", lambda: None)()
    assert len(rows) == total
    assert {(status, n_called, n_counters) for _id, status, _c, n_called, n_counters
            in rows} == {("done", 1, 1)}
    assert dict(seq_rows) == dict(expected)

    log = server.log()
    assert "Traceback" not in log and "unexpected error" not in log, log[-3000:]


def test_concurrent_tickets_and_calls_sqlite(tmp_path):
    with Server(tmp_path, workers=3, threads=8) as server:
        issued, results = _run_day(server)
        _check(server, sqlite_url(tmp_path), issued, results)


@pytest.mark.postgres
def test_concurrent_tickets_and_calls_postgresql(tmp_path, pg_database):
    with Server(tmp_path, workers=3, threads=8,
                env={"DATABASE_URL": pg_database}) as server:
        issued, results = _run_day(server)
        _check(server, pg_database, issued, results)
