"""Notifications over HTTP: the gateways' signed callbacks (unsigned, badly signed,
stale or replayed: 4xx and nothing changes), a citizen's BERHENTI, "kabari saya" on the
ticket page and its API, the supervisor's failed messages and the admin's templates."""
import json
import time

import pytest

from app import notify as sender
from app.domain import cases, notify, queueing
from app.models import AuditEntry, Notification, NotifyOptOut, NotifyTemplate, TicketWatch

from .casekit import NIK, serving_ticket
from .conftest import MONDAY_9
from .pages import csrf_from, login

SECRET = "gateway-secret"


@pytest.fixture
def signed_app(app):
    app.config["SETTINGS"]["NOTIFY_CALLBACK_SECRET"] = SECRET
    return app


def sent_case_message():
    ticket = serving_ticket()
    cases.open_case(ticket.id, queueing.get_service("ADM-KK"),
                    {"name": "Siti", "nik": NIK, "phone": "081234567890"}, [], "", MONDAY_9,
                    "operator.tabang")
    row = Notification.get()
    row = notify.claim(row.id, MONDAY_9)
    notify.record_sent(row, "whatsapp", "gw-1", MONDAY_9)
    return Notification.get_by_id(row.id)


def post_signed(client, path, data, secret=SECRET, **overrides):
    body = json.dumps(data).encode()
    headers = sender.signed_callback_headers(secret, body, **overrides)
    return client.post(path, data=body, headers=headers)


def test_delivery_callback_signed_once(signed_app, client, db):
    row = sent_case_message()
    data = {"id": row.key, "status": "failed", "error": "number unreachable"}
    body = json.dumps(data).encode()
    unsigned = client.post("/api/v1/notify/status", json=data)
    assert unsigned.status_code == 401 and unsigned.json["error"]["code"] == "invalid_signature"
    forged = post_signed(client, "/api/v1/notify/status", data, secret="guess")
    assert forged.status_code == 401
    stale = post_signed(client, "/api/v1/notify/status", data,
                        timestamp=int(time.time()) - 3600)
    assert stale.status_code == 401 and stale.json["error"]["code"] == "stale_request"
    assert Notification.get_by_id(row.id).status == "sent"  # nothing changed
    headers = sender.signed_callback_headers(SECRET, body)
    ok = client.post("/api/v1/notify/status", data=body, headers=headers)
    assert ok.status_code == 200 and ok.json["status"] == "failed"
    replay = client.post("/api/v1/notify/status", data=body, headers=headers)
    assert replay.status_code == 409 and replay.json["error"]["code"] == "replayed"
    failed = Notification.get_by_id(row.id)
    assert failed.status == "failed" and "number unreachable" in failed.last_error
    unknown = post_signed(client, "/api/v1/notify/status", {"id": "x", "status": "read"})
    assert unknown.status_code == 404
    bad = post_signed(client, "/api/v1/notify/status", {"id": row.key, "status": "boom"})
    assert bad.status_code == 422


def test_callbacks_refused_when_no_secret_is_set(app, client, db):
    r = post_signed(client, "/api/v1/notify/inbound", {"from": "081234567890", "text": "STOP"})
    assert r.status_code == 401 and r.json["error"]["code"] == "callbacks_off"
    assert not NotifyOptOut.select().exists()


def test_inbound_stop_and_bad_numbers(signed_app, client, db):
    row = sent_case_message()
    Notification.update(status="pending").where(Notification.id == row.id).execute()
    unsigned = client.post("/api/v1/notify/inbound", json={"from": "081234567890",
                                                            "text": "STOP"})
    assert unsigned.status_code == 401 and not NotifyOptOut.select().exists()
    foreign = post_signed(client, "/api/v1/notify/inbound", {"from": "+1 202 555 0100",
                                                              "text": "STOP"})
    assert foreign.status_code == 422 and foreign.json["error"]["code"] == "invalid_phone"
    r = post_signed(client, "/api/v1/notify/inbound", {"from": "6281234567890",
                                                        "text": "Berhenti"})
    assert r.status_code == 200 and r.json == {"from": "0812****7890", "action": "stopped"}
    assert Notification.get_by_id(row.id).status == "stopped"


def test_kabari_saya_api_and_page(app, client, db):
    ticket = queueing.issue_ticket(queueing.get_site("tabang"),
                                   queueing.get_service("ADM-KTP"), MONDAY_9)
    page = client.get(f"/t/{ticket.id}").get_data(as_text=True)
    assert "Kabari saya" in page and "tinggal 3 nomor lagi" in page
    bad = client.post(f"/api/v1/tickets/{ticket.id}/notify", json={"phone": "+44 7700 900123"})
    assert bad.status_code == 422 and bad.json["error"]["code"] == "invalid_phone"
    assert not TicketWatch.select().exists()
    missing = client.post("/api/v1/tickets/nope/notify", json={"phone": "081234567890"})
    assert missing.status_code == 404
    r = client.post(f"/api/v1/tickets/{ticket.id}/notify", json={"phone": "081234567890"})
    assert r.status_code == 201 and r.json["waiting_before"] == 0
    assert "081234567890" not in r.get_data(as_text=True)  # masked
    (turn,) = Notification.select()
    assert turn.kind == "turn_near" and turn.urgent
    form = client.post(f"/t/{ticket.id}/kabari", data={"phone": "12",
                                                       "csrf_token": csrf_from(page)})
    assert form.status_code == 302 and "kabari=invalid_phone" in form.location
    shown = client.get(form.location).get_data(as_text=True)
    assert '<div class="error-box" role="alert"><p>Nomor HP tidak valid.' in shown
    assert 'aria-invalid="true"' in shown and "phone=" not in form.location  # never in URLs


def test_templates_api_admin_only_unknown_variable_refused(app, api, db):
    api.login("supervisor.tabang")
    assert api.get("/api/v1/notify/templates").status_code == 403
    api.login("admin")
    listed = api.get("/api/v1/notify/templates").json["templates"]
    assert {t["kind"] for t in listed} >= {"case_ready", "turn_near", "booking_made"}
    r = api.client.put("/api/v1/notify/templates/case_ready", headers=api.headers,
                       json={"body": "Berkas {kode} atas NIK {nik} siap"})
    assert r.status_code == 422 and r.json["error"]["code"] == "unknown_variable"
    assert not NotifyTemplate.select().exists()
    assert api.client.put("/api/v1/notify/templates/nope", headers=api.headers,
                          json={"body": "x"}).status_code == 404
    preview = api.post("/api/v1/notify/templates/case_ready/preview",
                       json={"body": "{kode} siap di {lokasi}"})
    assert preview.status_code == 200 and preview.json["preview"] == (
        "KK-7H3M-Q9XP siap di Mini MPP Tabang")
    assert not NotifyTemplate.select().exists()  # a preview saves nothing
    saved = api.client.put("/api/v1/notify/templates/case_ready", headers=api.headers,
                           json={"body": "{kode} siap diambil di {lokasi}. {tautan}"})
    assert saved.status_code == 200 and saved.json["custom"]
    assert AuditEntry.get(AuditEntry.action == "notify.template").object == "case_ready"


def test_failed_messages_for_the_supervisor(app, api, client, db):
    row = sent_case_message()
    Notification.update(status="failed", last_error="whatsapp: HTTP 400").where(
        Notification.id == row.id).execute()
    api.login("supervisor.anggana")
    assert api.get("/api/v1/notify/failed").json["messages"] == []
    assert api.post(f"/api/v1/notify/messages/{row.id}/retry").status_code == 403
    api.login("operator.tabang")
    assert api.get("/api/v1/notify/failed").status_code == 403
    api.login("supervisor.tabang")
    (shown,) = api.get("/api/v1/notify/failed").json["messages"]
    assert shown["last_error"] == "whatsapp: HTTP 400" and shown["phone"] == "0812****7890"
    assert api.post(f"/api/v1/notify/messages/{row.id}/handled").json["status"] == "handled"
    again = api.post(f"/api/v1/notify/messages/{row.id}/retry")
    assert again.status_code == 409 and again.json["error"]["code"] == "not_failed"
    assert api.post("/api/v1/notify/messages/999/retry").status_code == 404
    login(client, "supervisor.tabang")
    page = client.get("/admin/notifikasi")
    assert page.status_code == 200 and "Notifikasi warga" in page.get_data(as_text=True)
    assert set(notify.LABELS) == set(notify.KINDS)


def test_admin_page_template_preview_and_unknown_variable(app, client, db):
    login(client, "admin")
    page = client.get("/admin/notifikasi").get_data(as_text=True)
    assert "Template pesan" in page and "{jam_buka}" in page
    # Each template is titled in words a supervisor reads, not by its key alone.
    assert "Berkas siap diambil" in page and "Tinggal 3 nomor lagi" in page
    r = client.post("/admin/notifikasi/template/case_ready",
                    data={"body": "{kode} {rahasia}", "action": "simpan",
                          "csrf_token": csrf_from(page)})
    assert r.status_code == 422 and "rahasia" in r.get_data(as_text=True)
    assert not NotifyTemplate.select().exists()
