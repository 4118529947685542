"""The audit trail: entries written in the change's transaction, personal data masked,
append-only in the database, and readable by admins (all halls) and supervisors (their
own hall) as a page, a CSV file and the API."""
import peewee as pw
import pytest

from app.db import write_transaction
from app.domain import audit
from app.models import AuditEntry

from .conftest import MONDAY_9
from .pages import csrf_from, logged_in


def write(action="service.update", site="tabang", actor="admin", **kw):
    with write_transaction():
        return audit.record(audit.Actor(actor, "admin", "", "10.0.0.5"), action,
                            "service ADM-KTP", MONDAY_9, site_code=site, **kw)


def test_personal_data_is_masked_and_secrets_dropped(db):
    entry = write(before={"phone": "+6281234567890", "name": "Siti"},
                  after={"nik": "6402010101900001", "password_hash": "scrypt:x",
                         "email": "siti@example.com", "name": "Siti R."})
    entry = AuditEntry.get_by_id(entry.id)
    assert entry.before == {"phone": "0812****7890", "name": "Siti"}
    assert entry.after == {"nik": "6402********0001", "email": "s***@example.com",
                           "name": "Siti R."}
    assert (entry.actor, entry.role, entry.client, entry.site_code) == (
        "admin", "admin", "10.0.0.5", "tabang")


def test_nothing_is_written_when_the_change_rolls_back(db):
    with pytest.raises(RuntimeError):
        with write_transaction():
            audit.record("admin", "service.update", "x", MONDAY_9)
            raise RuntimeError("the change failed")
    assert AuditEntry.select().count() == 0


def test_the_trail_is_append_only(db):
    entry = write()
    with pytest.raises(pw.DatabaseError):
        with write_transaction():
            AuditEntry.update(actor="someone else").where(AuditEntry.id == entry.id).execute()
    with pytest.raises(pw.DatabaseError):
        with write_transaction():
            AuditEntry.delete().execute()
    assert AuditEntry.get_by_id(entry.id).actor == "admin"


def test_changed_keeps_only_what_differs():
    assert audit.changed({"a": 1, "b": 2}, {"a": 1, "b": 3}) == ({"b": 2}, {"b": 3})


def test_filters(db):
    write("service.update", "tabang", "admin")
    write("counter.create", "tabang", "supervisor.tabang")
    write("ticket.call", "induk", "operator.induk")
    assert [e.action for e in audit.entries(site_code="tabang")] == [
        "counter.create", "service.update"]
    assert [e.action for e in audit.entries(action="ticket.")] == ["ticket.call"]
    assert [e.actor for e in audit.entries(actor="admin")] == ["admin"]
    assert audit.entries(day_from=MONDAY_9.date().replace(day=1),
                         day_to=MONDAY_9.date().replace(day=29)) == []
    assert len(audit.entries(day_from=MONDAY_9.date(), day_to=MONDAY_9.date())) == 3


@pytest.mark.parametrize("username, status", [
    ("admin", 200), ("supervisor.tabang", 200), ("operator.tabang", 403),
    ("officer.disdukcapil", 403)])
def test_who_reads_the_trail(client, db, username, status):
    write("service.update", "tabang")
    write("ticket.call", "induk", "operator.induk")
    logged_in(client, username)
    r = client.get("/admin/audit")
    assert r.status_code == status
    if status == 200:
        html = r.get_data(as_text=True)
        assert "service.update" in html
        assert ("ticket.call" in html) == (username == "admin")  # supervisors: own hall


def test_supervisor_cannot_read_another_hall(client, db):
    logged_in(client, "supervisor.tabang")
    assert client.get("/admin/audit?site=induk").status_code == 403


def test_anonymous_is_sent_to_login(client, db):
    r = client.get("/admin/audit")
    assert r.status_code == 302 and "/loket/masuk" in r.headers["Location"]


def test_htmx_swaps_the_rows_but_a_history_restore_gets_the_page(client, db):
    """The filters push their address; htmx restoring it after a cache miss sends
    HX-Request too, and must get a whole page, not the rows alone."""
    logged_in(client, "admin")
    rows = client.get("/admin/audit", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "<html" not in rows
    page = client.get("/admin/audit", headers={
        "HX-Request": "true", "HX-History-Restore-Request": "true"}).get_data(as_text=True)
    assert "<html" in page and "Jejak audit" in page


def test_csv_export(client, db):
    write(after={"name": "KTP Elektronik"})
    logged_in(client, "admin")
    r = client.get("/admin/audit.csv?site=tabang")
    assert r.status_code == 200 and r.mimetype == "text/csv"
    text = r.get_data().decode("utf-8-sig")
    header, row = text.splitlines()[:2]
    assert header.startswith("waktu_wita,pelaku,peran,lokasi,tindakan")
    assert "2026-11-30 09:00:00,admin,admin,tabang,service.update" in row


def test_api(api, db):
    write("service.update", "tabang")
    r = api.login("admin").get("/api/v1/admin/audit?site=tabang&from=2026-11-30")
    assert r.status_code == 200
    assert [e["action"] for e in r.json["entries"]] == ["service.update"]
    assert r.json["entries"][0]["at"] == "2026-11-30T09:00:00+08:00"
    assert api.get("/api/v1/admin/audit?from=30-11-2026").status_code == 422
    assert api.login("operator.tabang").get("/api/v1/admin/audit").status_code == 403
    assert api.login("supervisor.tabang").get(
        "/api/v1/admin/audit?site=induk").status_code == 403


def test_admin_home_lists_the_audit_page(client, db):
    logged_in(client, "supervisor.tabang")
    html = client.get("/admin").get_data(as_text=True)
    assert "Jejak audit" in html and "Supervisor Mini MPP Tabang" in html


# --- operator actions are audited in their own transaction -------------------------------

def test_console_actions_are_audited_with_role_hall_and_client(client, db):
    from app.domain import queueing
    queueing.issue_ticket(queueing.get_site("tabang"), queueing.get_service("ADM-KTP"),
                          MONDAY_9)
    logged_in(client, "operator.tabang")
    token = csrf_from(client.get("/loket/tabang/L1").get_data(as_text=True))
    headers = {"HX-Request": "true", "X-CSRFToken": token}
    assert client.post("/loket/tabang/L1/open-counter", headers=headers).status_code == 200
    assert client.post("/loket/tabang/L1/call-next", headers=headers).status_code == 200
    called = AuditEntry.get(AuditEntry.action == "ticket.called")
    assert (called.actor, called.role, called.site_code, called.object) == (
        "operator.tabang", "operator", "tabang", "tiket A001")
    assert called.after == {"counter": "L1"} and called.client == "127.0.0.1"
    opened = AuditEntry.get(AuditEntry.action == "counter.status")
    assert (opened.before, opened.after) == ({"status": "closed"}, {"status": "open"})


def test_api_finish_and_case_opening_are_audited(api, db):
    from app.domain import cases, queueing

    from .casekit import NIK, serving_ticket
    ticket = serving_ticket()
    api.login("operator.tabang")
    r = api.post("/api/v1/cases", json={
        "ticket_id": ticket.id, "service": "ADM-KK",
        "applicant": {"name": "Siti", "nik": NIK, "phone": "081234567890"},
        "requirements": ["Formulir F-1.01"]})
    assert r.status_code == 201, r.json
    entry = AuditEntry.get(AuditEntry.action == "case.open")
    assert entry.object == f"berkas {r.json['tracking_code']}"
    assert entry.after["applicant_nik"] == "6402********0001"
    assert entry.after["applicant_phone"] == "0812****7890"
    finished = AuditEntry.get(AuditEntry.action == "ticket.finish")
    assert finished.after == {"counter": "L1", "outcome": "case"}
    assert cases.get_case(r.json["tracking_code"]).opened_by == "operator.tabang"
    assert queueing.get_ticket(ticket.id).status == "done"


def test_kiosk_issuing_is_not_an_audited_staff_action(client, db):
    r = client.post("/api/v1/sites/tabang/tickets", json={"service": "ADM-KTP"})
    assert r.status_code == 201 and AuditEntry.select().count() == 0
