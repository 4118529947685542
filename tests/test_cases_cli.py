"""The sync commands, and the all-in-one node running the same path in one process."""
import time

import pytest
import requests

from app import centre_link
from app.domain import link_rows, queueing
from app.models import SyncKey

from .casekit import serving_ticket
from .conftest import MONDAY_9
from .servers import Server
from .test_cases_sync import auth, open_case_via_api, wait_for


def test_issue_sync_key_then_sign_with_it(app, client):
    result = app.test_cli_runner().invoke(args=["mpp", "issue-sync-key", "tabang"])
    assert result.exit_code == 0, result.output
    key = result.output.strip()
    assert len(key) >= 40 and SyncKey.select().count() == 1
    path = "/api/v1/sync/updates?since=0"
    r = client.get(path, headers=centre_link.signed_headers("tabang", key, "GET", path))
    assert r.status_code == 200
    again = app.test_cli_runner().invoke(args=["mpp", "issue-sync-key", "tabang"])
    r = client.get(path, headers=centre_link.signed_headers("tabang", key, "GET", path))
    assert r.status_code == 401 and again.output.strip() != key  # the old key is revoked
    bad = app.test_cli_runner().invoke(args=["mpp", "issue-sync-key", "atlantis"])
    assert bad.exit_code != 0


def test_sync_command_all_in_one(app, client, db):
    from app.domain import cases
    ticket = serving_ticket()
    case = cases.open_case(ticket.id, queueing.get_service("ADM-KK"),
                           {"name": "Budi", "nik": "6402120101850002"}, [], "", MONDAY_9)
    result = app.test_cli_runner().invoke(args=["mpp", "sync"])
    assert result.exit_code == 0, result.output
    assert "tabang: delivered 1, refused 0" in result.output
    assert client.get(f"/api/v1/track/{case.tracking_code}").json["status"] == "forwarded"


def test_sync_command_site_without_centre(template_dir, tmp_path):
    import shutil

    from app import create_app
    shutil.copy(template_dir / "mpp.sqlite3", tmp_path / "mpp.sqlite3")
    hall = create_app({"DATA_DIR": str(tmp_path), "SECRET_KEY": "t", "MPP_ROLE": "site",
                       "MPP_SITES": "tabang"})
    try:
        result = hall.test_cli_runner().invoke(args=["mpp", "sync"])
        assert result.exit_code != 0 and "CENTRAL_URL" in result.output
    finally:
        link_rows.configure("all-in-one")


@pytest.mark.slow
def test_all_in_one_server_forwards_in_process(tmp_path):
    with Server(tmp_path / "aio", workers=2, threads=4,
                env={"SYNC_INTERVAL_SECONDS": "0.3"}) as server:
        operator = auth(server, "operator.tabang")
        code = open_case_via_api(server, operator)
        track = f"{server.url}/api/v1/track/{code}"
        wait_for(lambda: requests.get(track, timeout=10).json()["status"] == "forwarded", 30)
        officer = auth(server, "officer.disdukcapil")
        r = requests.post(f"{server.url}/api/v1/central/cases/{code}/status",
                          headers=officer, json={"status": "processing"}, timeout=10)
        assert r.status_code == 200
        assert requests.get(track, timeout=10).json()["status"] == "processing"
        time.sleep(0.5)
        status = requests.get(f"{server.url}/api/v1/sites/tabang/sync-status",
                              headers=auth(server, "supervisor.tabang"), timeout=10).json()
        assert status["waiting"] == 0 and status["last_success_at"]


def test_a_row_left_behind_by_a_later_one_is_still_sent(app, db):
    """The sender keeps no cursor: an undelivered row older than a delivered one (a
    transaction that committed late) goes on the next pass."""
    from app.domain import cases
    from app.models import ForwardingMessage, Site
    for nik in ("6402120101850002", "6402120101850003"):
        ticket = serving_ticket()
        cases.open_case(ticket.id, queueing.get_service("ADM-KK"),
                        {"name": "Budi", "nik": nik}, [], "", MONDAY_9)
    first, second = ForwardingMessage.select().order_by(ForwardingMessage.id)
    site = Site.get(Site.code == "tabang")
    centre = centre_link.LocalCentre(app)
    centre.push([{"body": second.body}])  # the later row went first
    from app.domain import forwarding
    forwarding.record_results(site.id, [{"id": second.message_id, "status": "stored"}],
                               MONDAY_9)
    stats = centre_link.sync_site(app, site, centre)
    assert stats["delivered"] == 1
    assert ForwardingMessage.select().where(ForwardingMessage.delivered_at.is_null()).count() == 0


def test_debug_logging_never_prints_a_nik(template_dir, tmp_path, caplog):
    import logging
    import shutil

    from app import create_app
    from app.db import database
    from app.domain import cases
    shutil.copy(template_dir / "mpp.sqlite3", tmp_path / "mpp.sqlite3")
    app = create_app({"DATA_DIR": str(tmp_path), "SECRET_KEY": "t", "LOG_LEVEL": "DEBUG",
                      "MPP_CLOCK_START": "2026-11-30T09:00:00+08:00"})
    caplog.set_level(logging.DEBUG)
    with app.app_context():
        database.connect(reuse_if_open=True)
        ticket = serving_ticket()
        cases.open_case(ticket.id, queueing.get_service("ADM-KK"),
                        {"name": "Budi", "nik": "6402120101850002", "phone": "081299998888"},
                        [], "", MONDAY_9)
    assert "6402120101850002" not in caplog.text and "081299998888" not in caplog.text
