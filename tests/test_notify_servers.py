"""Notifications end to end on two real processes: the centre (PostgreSQL, 2 workers)
and the Tabang hall (SQLite), with real local HTTP servers standing in for the gateways.
A case opened while the centre is down, the centre up, an officer marks it ready: the
citizen's number gets exactly one "siap diambil"; a gateway outage in between changes
only when it arrives. A hall with a channel of its own sends what it wrote while the
centre could not be reached, and the centre never sends that one again."""
import sqlite3
import time

import psycopg2
import pytest
import requests

from .fake_gateway import FakeGateway
from .servers import Server
from .test_cases_sync import KEY, auth, open_case_via_api, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.postgres]
PHONE = "+6281234567890"


def central(tmp_path, pg_database, gateway):
    return Server(tmp_path / "central", workers=2, threads=4, env={
        "DATABASE_URL": pg_database, "MPP_ROLE": "central", "SYNC_KEYS": f"tabang:{KEY}",
        "NOTIFY_WHATSAPP_URL": gateway.url, "NOTIFY_WHATSAPP_TOKEN": "centre-token",
        "NOTIFY_RETRY_SECONDS": "0.3", "NOTIFY_MAX_ATTEMPTS": "30",
        "NOTIFY_TIMEOUT_SECONDS": "1", "PUBLIC_BASE_URL": "https://mpp.example.id"})


def hall(tmp_path, central_url, **env):
    return Server(tmp_path / "hall", workers=2, threads=4, env={
        "MPP_ROLE": "site", "MPP_SITES": "tabang", "CENTRAL_URL": central_url,
        "SYNC_SECRET": KEY, "SYNC_INTERVAL_SECONDS": "0.3",
        "SYNC_MAX_BACKOFF_SECONDS": "1.5", "NOTIFY_RETRY_SECONDS": "0.3",
        "PUBLIC_BASE_URL": "https://mpp.example.id", **env})


def centre_rows(pg_database) -> list[tuple]:
    with psycopg2.connect(pg_database) as conn, conn.cursor() as cur:
        cur.execute("select kind, owner, status from notification order by id")
        rows = cur.fetchall()
    conn.close()
    return rows


def hall_link_failed(site) -> bool:
    try:
        with sqlite3.connect(site.data_dir / "mpp.sqlite3", timeout=5) as conn:
            row = conn.execute("select failures from sync_state").fetchone()
    except sqlite3.Error:
        return False
    return bool(row and row[0] > 0)


def officer_marks_ready(centre, code, officer):
    for status in ("processing", "done", "ready_for_pickup"):
        r = requests.post(f"{centre.url}/api/v1/central/cases/{code}/status",
                          headers=officer, json={"status": status}, timeout=10)
        assert r.status_code == 200, r.text


def test_exactly_one_ready_message_across_a_centre_and_gateway_outage(tmp_path, pg_database):
    with FakeGateway() as gateway:
        centre = central(tmp_path, pg_database, gateway)
        with hall(tmp_path, centre.url) as site:  # the centre is down
            code = open_case_via_api(site, auth(site, "operator.tabang"))
            wait_for(lambda: hall_link_failed(site), 30)
            with centre:
                wait_for(lambda: any("diterima" in t for t in gateway.texts_to(PHONE)), 60)
                gateway.mode = "500"  # the gateway goes down before the officer acts
                officer = auth(centre, "officer.disdukcapil")
                wait_for(lambda: requests.get(f"{centre.url}/api/v1/central/cases/{code}",
                                              headers=officer, timeout=10).json().get(
                    "status") == "forwarded", 30)
                officer_marks_ready(centre, code, officer)
                wait_for(lambda: [r for r in gateway.requests if r["mode"] == "500"], 30)
                time.sleep(1.0)  # a few more failed tries
                gateway.mode = "ok"
                wait_for(lambda: any("siap diambil" in t for t in gateway.texts_to(PHONE)),
                         60)
                time.sleep(1.5)  # a second copy, if any, would arrive now
                rows = centre_rows(pg_database)
                log = centre.log() + site.log()
    texts = gateway.texts_to(PHONE)
    assert [t for t in texts if "siap diambil" in t] == [
        t for t in texts if code in t and "siap diambil" in t]
    assert len([t for t in texts if "siap diambil" in t]) == 1
    assert len([t for t in texts if "diterima" in t]) == 1
    assert all(r["headers"]["Authorization"] == "Bearer centre-token" for r in gateway.requests)
    keys = [r["headers"]["Idempotency-Key"] for r in gateway.requests if r["mode"] == "ok"]
    assert len(keys) == len(set(keys)) == 2  # each message went out once
    assert sorted(rows) == [("case_ready", "centre", "sent"),
                            ("case_received", "centre", "sent")]
    assert "6281234567890" not in log and "081234567890" not in log  # masked in logs


def test_a_hall_with_its_own_channel_sends_while_the_centre_is_down(tmp_path, pg_database):
    with FakeGateway() as centre_gw, FakeGateway() as hall_gw:
        centre = central(tmp_path, pg_database, centre_gw)
        with hall(tmp_path, centre.url, NOTIFY_SMS_URL=hall_gw.url) as site:
            wait_for(lambda: hall_link_failed(site), 30)  # the centre cannot be reached
            code = open_case_via_api(site, auth(site, "operator.tabang"))
            wait_for(lambda: hall_gw.texts_to(PHONE), 30)  # the hall sent it itself
            with centre:
                officer = auth(centre, "officer.disdukcapil")
                wait_for(lambda: requests.get(f"{centre.url}/api/v1/central/cases/{code}",
                                              headers=officer, timeout=10).json().get(
                    "status") == "forwarded", 30)
                wait_for(lambda: ("case_received", "hall", "at_hall") in
                         centre_rows(pg_database), 30)
                officer_marks_ready(centre, code, officer)
                wait_for(lambda: centre_gw.texts_to(PHONE), 60)
                time.sleep(1.5)
                rows = centre_rows(pg_database)
    assert [t for t in hall_gw.texts_to(PHONE)] == [
        t for t in hall_gw.texts_to(PHONE) if "diterima" in t and code in t]
    assert len(hall_gw.delivered) == 1
    (ready,) = centre_gw.texts_to(PHONE)
    assert "siap diambil" in ready and len(centre_gw.delivered) == 1
    assert sorted(rows) == [("case_ready", "centre", "sent"),
                            ("case_received", "hall", "at_hall")]
