"""A hall's own decisions (counters, kiosks, board settings, its closures, its staff) go
up to the centre from a hall's box, in the decision's transaction; the centre keeps the
newest snapshot whatever the order the messages arrive in."""
import datetime as dt
import json

import pytest

from app.domain import audit, counters, forwarding, hall_state, link_rows
from app.models import ForwardingMessage, HallState, Site

from .conftest import MONDAY_9

SUPERVISOR = audit.Actor("supervisor.tabang", "supervisor", "tabang")


def tabang():
    return Site.get(Site.code == "tabang")


@pytest.fixture
def hall_box():
    link_rows.configure("site")
    yield
    link_rows.configure("all-in-one")


def test_a_counter_made_at_the_hall_goes_up(db, hall_box):
    counters.create_counter(SUPERVISOR, tabang(), {
        "code": "L9", "name": "Loket 9", "services": ["INFO", "ADM-KTP"]}, MONDAY_9)
    message = ForwardingMessage.get(ForwardingMessage.kind == "hall.state")
    body = json.loads(message.body)
    assert (body["site"], body["tracking_code"]) == ("tabang", "hall:tabang")
    state = body["data"]["state"]
    l9 = next(c for c in state["counters"] if c["code"] == "L9")
    assert l9["services"] == ["INFO", "ADM-KTP"] and l9["active"]
    assert {"operator.tabang", "supervisor.tabang"} <= {s["username"] for s in state["staff"]}
    assert "password_hash" not in json.dumps(state)


def test_nothing_goes_up_outside_a_halls_box(db):
    counters.create_counter(SUPERVISOR, tabang(), {
        "code": "L9", "name": "Loket 9", "services": ["INFO"]}, MONDAY_9)
    assert not ForwardingMessage.select().where(ForwardingMessage.kind == "hall.state").exists()


def _message(taken: dt.datetime, running_text: str) -> dict:
    state = hall_state.snapshot(tabang())
    state["board"]["running_text"] = running_text
    body = {"id": link_rows.new_uid(), "kind": "hall.state", "site": "tabang",
            "tracking_code": "hall:tabang",
            "data": {"taken_at": taken.isoformat(), "state": state}}
    return {"body": link_rows.canonical(body)}


def test_the_centre_keeps_the_newest_snapshot(db):
    newer = _message(dt.datetime(2026, 11, 30, 2, 0), "baru")
    older = _message(dt.datetime(2026, 11, 30, 1, 0), "lama")
    results = forwarding.receive_batch(tabang(), [newer, older, newer], MONDAY_9,
                                       "/nonexistent", 1000)
    assert [r["status"] for r in results] == ["stored", "stored", "duplicate"]
    row = hall_state.reported(tabang())
    assert row.state["board"]["running_text"] == "baru"
    assert HallState.select().count() == 1
    garbage = _message(dt.datetime(2026, 11, 30, 3, 0), "x")
    body = json.loads(garbage["body"])
    body["data"]["state"] = "not a state"
    refused = forwarding.receive_batch(tabang(), [{"body": link_rows.canonical(body)}],
                                       MONDAY_9, "/nonexistent", 1000)
    assert refused[0]["status"] == "refused"
    assert hall_state.reported(tabang()).state["board"]["running_text"] == "baru"


def test_a_box_reports_only_its_own_hall(db):
    link_rows.configure("site", ["tabang"])
    try:
        hall_state.changed(Site.get(Site.code == "induk"), MONDAY_9)
        hall_state.changed(tabang(), MONDAY_9)
    finally:
        link_rows.configure("all-in-one")
    sent = [json.loads(m.body)["site"] for m in ForwardingMessage.select()]
    assert sent == ["tabang"]


def test_a_reprint_from_the_devices_page_is_audited(db):
    from app.models import AuditEntry, Kiosk, PrintJob
    from app.printing import queue
    kiosk = Kiosk.get(Kiosk.site == tabang())
    Kiosk.update(print_mode="escpos-network", host="127.0.0.1").where(
        Kiosk.id == kiosk.id).execute()
    job = PrintJob.create(kiosk=kiosk, kind="ticket", data={}, status="printed",
                          created_at=MONDAY_9.replace(tzinfo=None),
                          next_try_at=MONDAY_9.replace(tzinfo=None))
    queue.retry_job(tabang(), job.id, MONDAY_9, SUPERVISOR)
    entry = AuditEntry.get(AuditEntry.action == "print.reprint")
    assert (entry.actor, entry.site_code) == ("supervisor.tabang", "tabang")
