"""No overbooking across real gunicorn workers: many simultaneous bookings for one slot
give exactly its capacity; one NIK gets one booking a day. SQLite (the hall) and
PostgreSQL (the centre), and rate limits counted across workers."""
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from .servers import Server

CAPACITY = 4


def _fire(url: str, bodies: list[dict]) -> list[requests.Response]:
    barrier = threading.Barrier(len(bodies))

    def one(body):
        with requests.Session() as session:
            session.get(url + "/healthz", timeout=10)  # connection ready before the race
            barrier.wait(timeout=30)
            return session.post(url + "/api/v1/appointments", json=body, timeout=60)

    with ThreadPoolExecutor(max_workers=len(bodies)) as pool:
        return list(pool.map(one, bodies))


def body(nik_serial: int, start="10:00"):
    return {"site": "tabang", "service": "ADM-KTP", "date": "2026-11-30", "start": start,
            "name": "Warga Uji", "nik": f"640212170885{nik_serial:04d}",
            "phone": "081234567890"}


def _race(server: Server):
    responses = _fire(server.url, [body(n) for n in range(1, 41)])
    statuses = sorted(r.status_code for r in responses)
    assert statuses.count(201) == CAPACITY, [r.text for r in responses if r.status_code >= 500]
    assert statuses.count(409) == 40 - CAPACITY
    assert {r.json()["error"]["code"] for r in responses if r.status_code == 409} == {
        "slot_full"}
    slots = requests.get(server.url + "/api/v1/sites/tabang/services/ADM-KTP/slots",
                         params={"date": "2026-11-30"}, timeout=10).json()["slots"]
    assert next(s for s in slots if s["start"] == "10:00")["available"] == 0

    # One NIK, twenty slots at once: one booking.
    starts = [f"{h:02d}:{m:02d}" for h in range(10, 15) for m in (0, 30)][2:]
    same = _fire(server.url, [body(999, start) for start in starts])
    codes = [r.status_code for r in same]
    assert codes.count(201) == 1, [r.text for r in same]
    assert {r.json()["error"]["code"] for r in same if r.status_code == 409} == {
        "duplicate_booking"}


@pytest.mark.slow
def test_no_overbooking_across_workers_sqlite(tmp_path):
    with Server(tmp_path / "data", workers=3, threads=16) as server:
        _race(server)
        assert "Traceback" not in server.log()


@pytest.mark.slow
def test_rate_limit_is_shared_by_workers(tmp_path):
    env = {"RATE_LIMITS": "on", "RATE_LIMIT_CHECKIN": "10/hour"}
    with Server(tmp_path / "data", workers=3, threads=8, env=env) as server:
        codes = []
        for _ in range(15):  # new connections: spread over the workers
            r = requests.post(server.url + "/api/v1/sites/tabang/check-in",
                              json={"code": "ZZZZ2222"}, timeout=10,
                              headers={"Connection": "close"})
            codes.append(r.status_code)
        assert codes == [404] * 10 + [429] * 5




@pytest.mark.slow
@pytest.mark.postgres
def test_no_overbooking_across_workers_postgres(tmp_path, pg_database):
    env = {"DATABASE_URL": pg_database}
    with Server(tmp_path / "data", workers=3, threads=16, env=env) as server:
        _race(server)
        assert "Traceback" not in server.log()


def _checkins(server, n):
    return [requests.post(server.url + "/api/v1/sites/tabang/check-in",
                          json={"code": "ZZZZ2222"}, timeout=10,
                          headers={"Connection": "close"}).status_code for _ in range(n)]


@pytest.mark.slow
@pytest.mark.postgres
def test_rate_limits_in_postgres_and_in_redis(tmp_path, pg_database):
    import redis
    env = {"DATABASE_URL": pg_database, "RATE_LIMITS": "on", "RATE_LIMIT_CHECKIN": "5/hour"}
    with Server(tmp_path / "data", workers=2, threads=8, env=env) as server:
        assert _checkins(server, 8) == [404] * 5 + [429] * 3
    prefix = f"mpp-test-{uuid.uuid4().hex[:8]}:"
    env.update(REDIS_URL="redis://127.0.0.1:6379/0", RATE_LIMIT_REDIS_PREFIX=prefix)
    client = redis.Redis.from_url("redis://127.0.0.1:6379/0")
    try:
        with Server(tmp_path / "data2", workers=2, threads=8, env=env) as server:
            assert _checkins(server, 8) == [404] * 5 + [429] * 3
            assert client.keys(prefix + "*")
    finally:
        for key in client.keys(prefix + "*"):
            client.delete(key)
