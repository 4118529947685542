"""Two real servers: the centre (PostgreSQL, 2 workers) and a hall (SQLite). Cases go
up, status comes down, and faults on the way never lose or double a case."""
import json
import os
import secrets
import signal
import subprocess
import sys
import time

import psycopg2
import pytest
import requests

from app.centre_link import signed_headers

from .casekit import NIK, png_bytes
from .dropproxy import DropProxy
from .servers import ROOT, Server

pytestmark = [pytest.mark.slow, pytest.mark.postgres]
KEY = secrets.token_urlsafe(24)




def central(tmp_path, pg_database):
    return Server(tmp_path / "central", workers=2, threads=4, env={
        "DATABASE_URL": pg_database, "MPP_ROLE": "central", "SYNC_KEYS": f"tabang:{KEY}"})


def hall(tmp_path, central_url, **env):
    return Server(tmp_path / "hall", workers=2, threads=4, env={
        "MPP_ROLE": "site", "MPP_SITES": "tabang", "CENTRAL_URL": central_url,
        "SYNC_SECRET": KEY, "SYNC_INTERVAL_SECONDS": "0.3",
        "SYNC_MAX_BACKOFF_SECONDS": "1.5", **env})


def central_counts(pg_database) -> dict:
    with psycopg2.connect(pg_database) as conn, conn.cursor() as cur:
        cur.execute("select count(*), count(distinct tracking_code) from case_record")
        cases, distinct = cur.fetchone()
        cur.execute("select count(*) from inbox_message where kind like 'case.%'")
        (inbox,) = cur.fetchone()
        cur.execute("select count(*), count(distinct case_id) from case_event "
                    "where status = 'forwarded'")
        forwarded, forwarded_cases = cur.fetchone()
    conn.close()
    return {"cases": cases, "distinct": distinct, "inbox": inbox, "forwarded": forwarded,
            "forwarded_cases": forwarded_cases}


def wait_for(predicate, timeout=60.0, interval=0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError("condition not met in time")


def auth(server, username):
    return {"Authorization": f"Bearer {server.token(username)}"}


def open_case_via_api(server, headers, answer=None) -> str:
    url = server.url
    requests.post(f"{url}/api/v1/sites/tabang/tickets", json={"service": "ADM-KK"},
                  timeout=10).raise_for_status()
    ticket = requests.post(f"{url}/api/v1/sites/tabang/counters/L1/call-next",
                           headers=headers, timeout=10).json()["ticket"]
    requests.post(f"{url}/api/v1/tickets/{ticket['id']}/start", headers=headers,
                  timeout=10).raise_for_status()
    r = requests.post(f"{url}/api/v1/cases", headers=headers, timeout=10, json={
        "ticket_id": ticket["id"], "service": "ADM-KK",
        "applicant": {"name": "Siti Rahmah", "nik": NIK, "phone": "081234567890"},
        "requirements": ["Formulir F-1.01"], "notes": "uji"})
    assert r.status_code == 201, r.text
    if answer is not None:
        answer.update(r.json())
    return r.json()["tracking_code"]


def make_backlog(data_dir, n) -> None:
    env = {**os.environ, "DATA_DIR": str(data_dir)}
    subprocess.run([sys.executable, "-m", "tests.backlog", str(data_dir), str(n)], cwd=ROOT,
                   env=env, check=True, capture_output=True)


def kill(server):
    os.killpg(server.process.pid, signal.SIGKILL)
    server.process.wait()


def test_cases_up_and_status_down(tmp_path, pg_database):
    with central(tmp_path, pg_database) as centre, hall(tmp_path, centre.url) as site:
        operator = auth(site, "operator.tabang")
        answer = {}
        codes = [open_case_via_api(site, operator, answer) for _ in range(3)]
        assert answer["track_url"] == f"{centre.url}/lacak/{codes[-1]}"  # public address
        r = requests.post(f"{site.url}/api/v1/cases/{codes[0]}/attachments",
                          headers=operator, files={"file": ("ktp.png", png_bytes())},
                          timeout=10)
        assert r.status_code == 201, r.text
        sha = r.json()["sha256"]
        officer = auth(centre, "officer.disdukcapil")

        def arrived():
            rows = requests.get(f"{centre.url}/api/v1/central/cases?site=tabang",
                                headers=officer, timeout=10).json()["cases"]
            return len(rows) == 3 and rows
        wait_for(arrived, 30)
        case = wait_for(lambda: (c := requests.get(
            f"{centre.url}/api/v1/central/cases/{codes[0]}", headers=officer,
            timeout=10).json())["attachments"] and c, 30)
        assert case["attachments"][0]["sha256"] == sha
        assert case["applicant"]["nik"] == NIK and case["status"] == "forwarded"
        blob = requests.get(f"{centre.url}/api/v1/central/cases/{codes[0]}/attachments/"
                            f"{case['attachments'][0]['id']}", headers=officer, timeout=10)
        assert blob.content == png_bytes()
        assert blob.headers["Content-Disposition"].startswith("attachment")
        # down: forwarded, then the officer's changes
        track = f"{site.url}/api/v1/track/{codes[0]}"
        wait_for(lambda: requests.get(track, timeout=10).json()["status"] == "forwarded", 30)
        for status, extra in (("needs_fix", {"missing": "KK lama"}), ("processing", {}),
                              ("done", {}), ("ready_for_pickup", {})):
            r = requests.post(f"{centre.url}/api/v1/central/cases/{codes[0]}/status",
                              headers=officer, json={"status": status, **extra}, timeout=10)
            assert r.status_code == 200, r.text
        wait_for(lambda: requests.get(track, timeout=10).json()["status"] ==
                 "ready_for_pickup", 30)
        history = [h["status"] for h in requests.get(track, timeout=10).json()["history"]]
        assert history == ["received", "forwarded", "needs_fix", "processing", "done",
                           "ready_for_pickup"]
        # the citizen collects at the hall: that goes up
        r = requests.post(f"{site.url}/api/v1/cases/{codes[0]}/status", headers=operator,
                          json={"status": "picked_up"}, timeout=10)
        assert r.status_code == 200, r.text
        wait_for(lambda: requests.get(f"{centre.url}/api/v1/track/{codes[0]}",
                                      timeout=10).json()["status"] == "picked_up", 30)
        status = requests.get(f"{site.url}/api/v1/sites/tabang/sync-status",
                              headers=auth(site, "supervisor.tabang"), timeout=10).json()
        assert status["waiting"] == 0 and status["last_success_at"]
        assert NIK not in site.log() and NIK not in centre.log()
    counts = central_counts(pg_database)
    assert counts["cases"] == counts["inbox"] - 2 == 3  # + attachment + picked_up


def test_refused_requests_at_the_real_centre(tmp_path, pg_database):
    with central(tmp_path, pg_database) as centre:
        path = "/api/v1/sync/updates?since=0"

        def get(headers):
            return requests.get(centre.url + path, headers=headers, timeout=10)
        good = signed_headers("tabang", KEY, "GET", path)
        assert get(good).status_code == 200
        assert get(good).json()["error"]["code"] == "replayed"
        assert get({}).json()["error"]["code"] == "unsigned"
        assert get(signed_headers("tabang", "forged", "GET", path)).json()["error"][
            "code"] == "bad_signature"
        assert get(signed_headers("tabang", KEY, "GET", path,
                                  timestamp=int(time.time()) + 900)).json()["error"][
            "code"] == "clock_skew"
        assert get(signed_headers("kota-bangun", KEY, "GET", path)).json()["error"][
            "code"] == "unknown_site_key"
        wrong_path = signed_headers("tabang", KEY, "GET", "/api/v1/sync/updates?since=5")
        assert get(wrong_path).json()["error"]["code"] == "bad_signature"
        log = centre.log()
    for reason in ("replayed", "unsigned", "bad_signature", "clock_skew",
                   "unknown_site_key"):
        assert f"sync request refused: {reason}" in log


def test_centre_killed_mid_batch_then_restarted(tmp_path, pg_database):
    centre = central(tmp_path, pg_database).start()
    site = hall(tmp_path, centre.url, SYNC_BATCH="20", SYNC_SENDER="on")
    site.start()  # migrates and loads the hall's data, then we stop it to fill a backlog
    site.stop()
    make_backlog(site.data_dir, 400)
    site.start()
    try:
        wait_for(lambda: central_counts(pg_database)["cases"] >= 40, 60, 0.05)
        kill(centre)
        arrived_before = central_counts(pg_database)["cases"]
        assert arrived_before < 400, "the backlog drained before the kill"
        operator = auth(site, "operator.tabang")
        opened_while_down = [open_case_via_api(site, operator) for _ in range(3)]
        centre.start()
        wait_for(lambda: central_counts(pg_database)["cases"] == 403, 90, 0.3)
        time.sleep(1.0)  # any straggler re-send would show up now
        counts = central_counts(pg_database)
        assert counts == {"cases": 403, "distinct": 403, "inbox": 403, "forwarded": 403,
                          "forwarded_cases": 403}
        officer = auth(centre, "officer.disdukcapil")
        for code in opened_while_down:
            r = requests.get(f"{centre.url}/api/v1/central/cases/{code}", headers=officer,
                             timeout=10)
            assert r.status_code == 200
    finally:
        site.stop()
        centre.stop()


def test_lost_acknowledgements_still_exactly_once(tmp_path, pg_database):
    with central(tmp_path, pg_database) as centre:
        proxy = DropProxy(centre.port, drop=3)
        try:
            with hall(tmp_path, proxy.url, SYNC_BATCH="10") as site:
                operator = auth(site, "operator.tabang")
                for _ in range(12):
                    open_case_via_api(site, operator)
                wait_for(lambda: proxy.dropped == 3, 60)
                supervisor = auth(site, "supervisor.tabang")
                wait_for(lambda: requests.get(
                    f"{site.url}/api/v1/sites/tabang/sync-status", headers=supervisor,
                    timeout=10).json()["waiting"] == 0, 60)
                status = requests.get(f"{site.url}/api/v1/sites/tabang/sync-status",
                                      headers=supervisor, timeout=10).json()
                assert "Pusat tidak dapat dihubungi" in status["last_error"]
        finally:
            proxy.close()
    counts = central_counts(pg_database)
    assert counts == {"cases": 12, "distinct": 12, "inbox": 12, "forwarded": 12,
                      "forwarded_cases": 12}


def test_hall_restarted_mid_send(tmp_path, pg_database):
    with central(tmp_path, pg_database) as centre:
        site = hall(tmp_path, centre.url, SYNC_BATCH="20")
        site.start()
        site.stop()
        make_backlog(site.data_dir, 400)
        site.start()
        try:
            wait_for(lambda: central_counts(pg_database)["cases"] >= 20, 60, 0.05)
            kill(site)
            assert central_counts(pg_database)["cases"] < 400, "drained before the kill"
            site.start()
            wait_for(lambda: central_counts(pg_database)["cases"] == 400, 90, 0.3)
            time.sleep(1.0)
        finally:
            site.stop()
    counts = central_counts(pg_database)
    assert counts == {"cases": 400, "distinct": 400, "inbox": 400, "forwarded": 400,
                      "forwarded_cases": 400}


def _opened(n: int) -> dict:
    from app.domain import codes
    symbols = codes.random_symbols(8)
    code = f"KK-{symbols[:4]}-{symbols[4:]}"
    body = {"id": secrets.token_hex(16), "kind": "case.opened", "site": "tabang",
            "tracking_code": code, "data": {
                "tracking_code": code, "site": "tabang", "service": "ADM-KK",
                "ticket_ref": None, "applicant": {"name": f"P{n}", "nik": NIK, "phone": ""},
                "requirements": [], "notes": "", "received_at": "2026-11-30T01:00:00",
                "opened_by": "t", "history": [{"uid": secrets.token_hex(16),
                                               "status": "received",
                                               "at": "2026-11-30T01:00:00"}]}}
    return {"body": json.dumps(body, sort_keys=True, separators=(",", ":"))}


def test_the_same_batch_twice_at_once(tmp_path, pg_database):
    """A hall that timed out re-sends while the centre's other worker still stores the
    first copy: the unique message id decides, each message is stored exactly once."""
    from concurrent.futures import ThreadPoolExecutor
    path = "/api/v1/sync/cases"
    with central(tmp_path, pg_database) as centre:
        for round_ in range(3):
            body = json.dumps({"messages": [_opened(i) for i in range(60)]}).encode()

            def send(_):
                headers = signed_headers("tabang", KEY, "POST", path, body)
                headers["Content-Type"] = "application/json"
                return requests.post(centre.url + path, data=body, headers=headers,
                                     timeout=30)
            with ThreadPoolExecutor(2) as pool:
                first, second = pool.map(send, range(2))
            assert first.status_code == second.status_code == 200, (first.text, second.text)
            for a, b in zip(first.json()["results"], second.json()["results"]):
                assert sorted([a["status"], b["status"]]) == ["duplicate", "stored"], (a, b)
    counts = central_counts(pg_database)
    assert counts == {"cases": 180, "distinct": 180, "inbox": 180, "forwarded": 180,
                      "forwarded_cases": 180}
