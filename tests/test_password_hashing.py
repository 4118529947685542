"""Sign-ins at once (a shift starting at the centre: hundreds of operators open their
consoles): password hashes take turns on `accounts.HASH_SLOTS` per process, so a
worker's memory stays bounded (each scrypt hash takes 32 MiB) and every sign-in still
succeeds."""
import threading
from pathlib import Path

import pytest
import requests

from app.db import database
from app.demo import KECAMATAN, slug
from app.domain import accounts

from .conftest import MONDAY_9
from .pages import csrf_from
from .servers import Server


def test_concurrent_sign_ins_hash_at_most_hash_slots_at_a_time(app, monkeypatch):
    real = accounts.check_password_hash
    lock = threading.Lock()
    running, most = [0], [0]
    overlap = threading.Event()

    def watched(stored, password):
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        overlap.wait(0.05)  # long enough for the other threads to pile up without slots
        try:
            return real(stored, password)
        finally:
            with lock:
                running[0] -= 1

    monkeypatch.setattr(accounts, "check_password_hash", watched)
    results, errors = [], []

    def sign_in(i):
        with app.app_context():
            database.connect(reuse_if_open=True)
            try:
                user = accounts.authenticate("operator.tabang", "demo", f"10.0.0.{i}",
                                             MONDAY_9)
                results.append(user.username if user else None)
            except Exception as exc:  # noqa: BLE001 - reported by the assertion below
                errors.append(exc)
            finally:
                database.close()

    threads = [threading.Thread(target=sign_in, args=(i,)) for i in range(8)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert errors == []
    assert results == ["operator.tabang"] * 8
    assert 1 <= most[0] <= accounts.HASH_SLOTS


def _peak_rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM")


def _sign_in(server, username="operator.tabang") -> int:
    session = requests.Session()
    page = session.get(f"{server.url}/loket/masuk", timeout=30).text
    r = session.post(f"{server.url}/loket/masuk", timeout=60, allow_redirects=False,
                     data={"username": username, "password": "demo",
                           "csrf_token": csrf_from(page)})
    return r.status_code


@pytest.mark.slow
def test_a_burst_of_sign_ins_keeps_the_workers_memory_bounded(tmp_path):
    """Twelve operators of twelve halls sign in at the same moment from one address:
    without turns, one worker's peak memory grew by twelve hashes' worth (about
    400 MiB); and none of them is slowed down by the others' attempts in flight."""
    with Server(tmp_path / "srv", workers=1, threads=16) as server:
        master = server.process.pid
        [worker] = [int(p) for p in
                    Path(f"/proc/{master}/task/{master}/children").read_text().split()]
        assert _sign_in(server) == 302  # the first hash's memory counts in the baseline
        before = _peak_rss_kib(worker)
        statuses = []
        sites = ["induk"] + [slug(name) for _code, name, _zone in KECAMATAN][:11]
        threads = [threading.Thread(target=lambda site=site: statuses.append(
            _sign_in(server, f"operator.{site}"))) for site in sites]
        [t.start() for t in threads]
        [t.join() for t in threads]
        grown_mib = (_peak_rss_kib(worker) - before) / 1024
        assert statuses == [302] * 12
        assert grown_mib < 5 * 32, f"peak RSS grew by {grown_mib:.0f} MiB"
