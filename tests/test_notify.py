"""Notifications, domain and sender: rows written in the event's transaction, texts
without NIK, consent and limits, the handover rule, templates, and the sender against a
real local HTTP gateway (fails, times out, answers 500, recovers)."""
import datetime as dt
import json

import pytest

from app import notify as sender
from app.clock import as_utc_naive
from app.domain import audit, booking, cases, catalogue, forwarding, link_rows, notify, queueing
from app.errors import Conflict, Invalid
from app.models import (
    ForwardingMessage,
    Notification,
    NotifyOptOut,
    Site,
    SyncState,
    TicketWatch,
)

from .casekit import NIK, serving_ticket, user
from .conftest import MONDAY_9, at
from .fake_gateway import FakeGateway

APPLICANT = {"name": "Siti Rahmah", "nik": NIK, "phone": "0812 3456 7890"}
PHONE = "+6281234567890"
ADMIN = audit.Actor("admin", "admin", "", "10.0.0.9")


@pytest.fixture(autouse=True)
def base_url(app):
    notify.configure(base_url="https://mpp.example.id", daily_limit=5, retry_seconds=1,
                     max_attempts=4)
    yield
    notify.configure(base_url="", daily_limit=5)
    link_rows.configure("all-in-one")


def open_case(forward=False):
    ticket = serving_ticket()
    case = cases.open_case(ticket.id, queueing.get_service("ADM-KK"), APPLICANT,
                           ["Formulir F-1.01"], "", MONDAY_9, "operator.tabang")
    if forward:  # the sync (all-in-one: the same rows)
        messages = [{"body": m.body} for m in ForwardingMessage.select()
                    .where(ForwardingMessage.delivered_at.is_null())]
        forwarding.receive_batch(case.site, messages, MONDAY_9, "/nonexistent", 10)
    return case


def rows(kind=None):
    query = Notification.select().order_by(Notification.id)
    if kind:
        query = query.where(Notification.kind == kind)
    return list(query)


# --- what is written, when ----------------------------------------------------------------

def test_case_messages_come_with_their_events_no_nik(db):
    case = open_case(forward=True)
    (received,) = rows("case_received")
    assert received.phone == PHONE and received.owner == "centre"
    assert case.tracking_code in received.body and NIK not in received.body
    assert f"https://mpp.example.id/lacak/{case.tracking_code}" in received.body
    officer = user("admin")
    cases.set_status_central(case.tracking_code, "processing", MONDAY_9, officer)
    cases.set_status_central(case.tracking_code, "needs_fix", MONDAY_9, officer,
                             missing="fotokopi buku nikah")
    (fix,) = rows("case_needs_fix")
    assert "fotokopi buku nikah" in fix.body
    cases.set_status_central(case.tracking_code, "done", MONDAY_9, officer)
    cases.set_status_central(case.tracking_code, "ready_for_pickup", MONDAY_9, officer)
    (ready,) = rows("case_ready")
    assert "siap diambil" in ready.body and "Mini MPP Tabang" in ready.body
    assert "jam buka" in ready.body and NIK not in ready.body
    assert len(rows()) == 3  # processing and done say nothing


def test_a_failed_event_writes_no_message(db):
    ticket = serving_ticket()
    with pytest.raises(Invalid):
        cases.open_case(ticket.id, queueing.get_service("ADM-KK"),
                        dict(APPLICANT, nik="123"), [], "", MONDAY_9, "operator.tabang")
    assert rows() == []


def test_booking_made_reminders_and_a_closure_cancel(db):
    site = Site.get(Site.code == "tabang")
    appt = booking.book(site, queueing.get_service("ADM-KTP"), "2026-12-02", "10:00",
                        "Siti Aminah", NIK, "081234567890", None, MONDAY_9,
                        "s").appointment
    (made,) = rows("booking_made")
    assert booking.format_code(appt.code) in made.body and NIK not in made.body
    reminders = rows("booking_reminder")
    assert [r.next_attempt_at for r in reminders] == [
        appt.start_at - dt.timedelta(days=1), appt.start_at - dt.timedelta(hours=2)]
    catalogue.create_closure(ADMIN, MONDAY_9, site, "2026-12-02", None, "Banjir",
                             confirm=True)
    (cancelled,) = rows("booking_cancelled")
    assert "Banjir" in cancelled.body
    assert {r.status for r in rows("booking_reminder")} == {"cancelled"}


# --- consent and limits ----------------------------------------------------------------------

@pytest.mark.parametrize("number", ["+1 202 555 0100", "0541 123456", "12345", "",
                                    "+62 21 5550100", "０８１２３４５６７８９０"])
def test_only_indonesian_mobile_numbers_are_accepted(db, number):
    with pytest.raises(Invalid) as caught:
        notify.phone_for_messages(number)
    assert caught.value.status == 422


@pytest.mark.parametrize("number", ["081234567890", "+62 812-3456-7890", "6281234567890"])
def test_indonesian_numbers_in_three_spellings(db, number):
    assert notify.phone_for_messages(number) == PHONE


def test_berhenti_stops_pending_and_future_messages(db):
    open_case()
    assert notify.inbound({"from": "081234567890", "text": " berhenti "}, MONDAY_9,
                          )["action"] == "stopped"
    assert [r.status for r in rows()] == ["stopped"]
    open_case()
    assert [r.status for r in rows()] == ["stopped", "stopped"]
    assert notify.due("centre", MONDAY_9) == []
    notify.inbound({"from": PHONE, "text": "MULAI"}, MONDAY_9)
    assert not NotifyOptOut.select().exists()


def test_quiet_hours_defer_all_but_your_turn(db):
    open_case()
    (row,) = rows()
    night = at(30, 22, 30)
    Notification.update(next_attempt_at=as_utc_naive(night)).execute()
    assert notify.claim(row.id, night) is None
    deferred = Notification.get_by_id(row.id)
    assert deferred.status == "pending"  # deferred, not dropped
    assert deferred.next_attempt_at == dt.datetime(2026, 11, 30, 22, 0)  # 06.00 WITA
    Notification.update(urgent=True).execute()
    Notification.update(next_attempt_at=dt.datetime(2026, 11, 30, 14, 0)).execute()
    assert notify.claim(row.id, night) is not None


def test_daily_limit_per_number(db):
    notify.configure(base_url="", daily_limit=2)
    for _ in range(3):
        open_case()
    sent = []
    for row_id in notify.due("centre", MONDAY_9):
        row = notify.claim(row_id, MONDAY_9)
        if row is not None:
            notify.record_sent(row, "sms", "x", MONDAY_9)
            sent.append(row_id)
    assert len(sent) == 2
    (waiting,) = [r for r in rows() if r.status == "pending"]
    assert waiting.next_attempt_at == dt.datetime(2026, 11, 30, 22, 0)  # tomorrow 06.00


# --- "kabari saya" -----------------------------------------------------------------------------

def test_turn_near_once_when_three_are_ahead(db):
    site, service = queueing.get_site("tabang"), queueing.get_service("ADM-KTP")
    tickets = [queueing.issue_ticket(site, service, MONDAY_9 + dt.timedelta(seconds=n))
               for n in range(7)]
    watched = tickets[-1]
    answer = notify.watch_ticket(watched.id, "0812-3456-7890", MONDAY_9)
    assert answer["waiting_before"] == 6 and "*" in answer["phone"]
    assert rows() == []
    counter = queueing.get_counter(site, "L1")
    for _ in range(3):
        ticket = queueing.call_next(counter, MONDAY_9)
        queueing.finish(ticket.id, "completed", MONDAY_9)
    (turn,) = rows("turn_near")
    assert "tinggal 3 nomor lagi" in turn.body and turn.urgent and watched.number in turn.body
    ticket = queueing.call_next(counter, MONDAY_9)
    queueing.finish(ticket.id, "completed", MONDAY_9)
    assert len(rows("turn_near")) == 1
    assert TicketWatch.get().notified_at is not None


def test_watch_refuses_a_foreign_number_and_a_called_ticket(db):
    site, service = queueing.get_site("tabang"), queueing.get_service("ADM-KTP")
    ticket = queueing.issue_ticket(site, service, MONDAY_9)
    with pytest.raises(Invalid):
        notify.watch_ticket(ticket.id, "+44 7700 900123", MONDAY_9)
    queueing.call_next(queueing.get_counter(site, "L1"), MONDAY_9)
    with pytest.raises(Conflict):
        notify.watch_ticket(ticket.id, "081234567890", MONDAY_9)
    assert rows() == [] and not TicketWatch.select().exists()


def test_old_numbers_are_forgotten_with_the_appointments(db):
    """`flask mpp forget-appointments` also clears the numbers of settled messages and
    of the ticket pages' watches older than its cutoff; a pending one keeps its number."""
    notify.configure(base_url="", daily_limit=5)
    open_case()
    open_case()
    site, service = queueing.get_site("tabang"), queueing.get_service("ADM-KTP")
    watched = queueing.issue_ticket(site, service, MONDAY_9)
    notify.watch_ticket(watched.id, "081234567890", MONDAY_9)
    first = notify.claim(notify.due("centre", MONDAY_9)[0], MONDAY_9)
    notify.record_sent(first, "sms", "x", MONDAY_9)
    booking.forget_old(MONDAY_9 + dt.timedelta(days=91), days=90)
    assert {r.phone for r in rows() if r.status == "sent"} == {"-"}
    assert all(r.phone.startswith("+62") for r in rows() if r.status == "pending")
    assert not TicketWatch.select().exists()


# --- templates -------------------------------------------------------------------------------

def test_template_with_unknown_variable_is_refused_and_nothing_changes(db):
    with pytest.raises(Invalid) as caught:
        notify.set_template(ADMIN, "case_ready", "Berkas {kode} milik {nik} siap", MONDAY_9)
    assert caught.value.code == "unknown_variable" and caught.value.detail["unknown"] == ["nik"]
    with pytest.raises(Invalid):
        notify.preview("case_ready", "Berkas {kode siap")
    assert notify.template_text("case_ready") == notify.KINDS["case_ready"][3]
    shown = notify.preview("case_ready", "Berkas {kode} siap diambil di {lokasi}.")
    assert shown["preview"] == "Berkas KK-7H3M-Q9XP siap diambil di Mini MPP Tabang."
    notify.set_template(ADMIN, "case_received", "Berkas {kode} kami terima. {tautan}",
                        MONDAY_9)
    case = open_case()
    assert rows()[0].body == (f"Berkas {case.tracking_code} kami terima. "
                              f"https://mpp.example.id/lacak/{case.tracking_code}")


# --- the handover rule ------------------------------------------------------------------------

def test_handover_rule_at_a_hall(db):
    """A hall with a channel keeps a row only when the link is failing at that moment
    (and "your turn" always); otherwise the row goes up and the centre sends it."""
    link_rows.configure("site", ["tabang"])
    notify.configure(base_url="", hall_channel=True)
    open_case()
    first = rows()[-1]
    assert first.owner == "centre"
    (up,) = [m for m in ForwardingMessage.select() if m.kind == "notify.message"]
    assert json.loads(up.body)["data"]["key"] == first.key
    site = Site.get(Site.code == "tabang")
    SyncState.create(site=site, failures=3)
    open_case()
    assert rows()[-1].owner == "hall"
    assert notify.due("hall", MONDAY_9) == [rows()[-1].id]
    notify.configure(base_url="", hall_channel=False)
    open_case()
    assert rows()[-1].owner == "centre"  # no modem: the centre sends, however late


def test_centre_records_but_never_sends_a_row_the_hall_kept(db):
    site = Site.get(Site.code == "tabang")
    data = {"key": "case_received:KK-AAAA-BBBB:x", "kind": "case_received",
            "ref": "KK-AAAA-BBBB", "phone": PHONE, "body": "Berkas siap", "urgent": False,
            "owner": "hall", "status": "pending",
            "created_at": "2026-11-30T01:00:00", "next_attempt_at": "2026-11-30T01:00:00"}
    notify.receive_message(site, {}, data, None, dt.datetime(2026, 11, 30, 1), {})
    notify.receive_message(site, {}, dict(data, key="k2", owner="centre"), None,
                           dt.datetime(2026, 11, 30, 1), {})
    assert {r.key: r.status for r in rows()} == {data["key"]: "at_hall", "k2": "pending"}
    assert notify.due("centre", MONDAY_9) == [rows()[1].id]
    with pytest.raises(Invalid):
        notify.receive_message(site, {}, dict(data, key="k3", phone="+1202555"), None,
                               dt.datetime(2026, 11, 30, 1), {})


# --- the sender against a real local gateway ------------------------------------------------

def gateway_channel(gw, name="whatsapp"):
    return sender.HttpGateway(name, gw.url, "tok", "MPP KUKAR", timeout=1.0)


def test_sender_delivers_once_with_the_idempotency_key(db):
    case = open_case()
    with FakeGateway() as gw:
        counts = sender.send_due([gateway_channel(gw)], MONDAY_9)
        assert counts == {"sent": 1, "retry": 0, "failed": 0}
        assert sender.send_due([gateway_channel(gw)], MONDAY_9)["sent"] == 0
    (request,) = gw.requests
    row = rows()[0]
    assert request["headers"]["Idempotency-Key"] == row.key
    assert request["headers"]["Authorization"] == "Bearer tok"
    assert request["json"]["to"] == PHONE and case.tracking_code in request["json"]["text"]
    assert row.status == "sent" and row.channel == "whatsapp" and row.gateway_ref


def test_outage_500_timeout_then_recovery_changes_only_the_time(db):
    open_case()
    with FakeGateway() as gw:
        channel = gateway_channel(gw)
        moment = MONDAY_9
        for mode in ("500", "timeout"):
            gw.mode = mode
            assert sender.send_due([channel], moment)["retry"] == 1
            row = rows()[0]
            assert row.status == "pending" and row.last_error
            assert sender.send_due([channel], moment)["retry"] == 0  # backing off
            moment = moment + dt.timedelta(minutes=5)
        gw.mode = "ok"
        assert sender.send_due([channel], moment)["sent"] == 1
    assert len(gw.delivered) == 1 and len(gw.requests) == 3
    assert rows()[0].status == "sent" and rows()[0].attempts == 3


def test_refused_on_whatsapp_goes_by_sms_failed_for_good_is_shown(db):
    open_case()
    with FakeGateway() as wa, FakeGateway() as sms:
        wa.mode = "400"
        counts = sender.send_due([gateway_channel(wa), gateway_channel(sms, "sms")], MONDAY_9)
        assert counts["sent"] == 1 and rows()[0].channel == "sms"
        assert len(sms.delivered) == 1
    open_case()  # a second case: the same number, refused everywhere
    with FakeGateway() as wa:
        wa.mode = "400"
        assert sender.send_due([gateway_channel(wa)], MONDAY_9)["failed"] == 1
    (failed,) = notify.failed_for(user("supervisor.tabang"))
    assert "HTTP 400" in failed["last_error"] and "*" in failed["phone"]
    assert notify.failed_for(user("admin"))[0]["id"] == failed["id"]
    assert notify.failed_for(user("supervisor.anggana")) == []
    with pytest.raises(Exception):
        notify.retry(user("supervisor.anggana"), failed["id"], MONDAY_9)
    again = notify.retry(user("supervisor.tabang"), failed["id"], MONDAY_9)
    assert again["status"] == "pending"
    with pytest.raises(Conflict):
        notify.mark_handled(user("supervisor.tabang"), failed["id"], MONDAY_9)


def test_delivery_callback_and_unknown_message(db):
    open_case()
    with FakeGateway() as gw:
        sender.send_due([gateway_channel(gw)], MONDAY_9)
    key = rows()[0].key
    assert notify.delivery_status({"id": key, "status": "delivered"}, MONDAY_9)[
        "status"] == "delivered"
    with pytest.raises(Exception) as caught:
        notify.delivery_status({"id": "nope", "status": "delivered"}, MONDAY_9)
    assert caught.value.status == 404
    with pytest.raises(Invalid):
        notify.delivery_status({"id": key, "status": "exploded"}, MONDAY_9)


def test_a_halls_backlog_of_cases_and_their_messages_takes_the_fast_path(db, monkeypatch):
    """At the centre, a run of new cases with the notification each wrote beside it is
    stored with a few statements (not message by message), each message once."""
    from app.models import Case, CaseAttachment, CaseEvent
    link_rows.configure("site", ["tabang"])
    for _ in range(3):
        open_case()
    wire = [{"body": m.body} for m in ForwardingMessage.select().order_by(ForwardingMessage.id)]
    assert [json.loads(w["body"])["kind"] for w in wire] == [
        "case.opened", "notify.message"] * 3
    for model in (Notification, CaseAttachment, CaseEvent, Case):  # the centre's empty db
        model.delete().execute()
    link_rows.configure("central")
    monkeypatch.setattr(forwarding, "_receive_one", lambda *a, **k: 1 / 0)
    site = Site.get(Site.code == "tabang")
    results = forwarding.receive_batch(site, wire, MONDAY_9, "/nonexistent", 10)
    assert [r["status"] for r in results] == ["stored"] * 6
    assert Case.select().count() == 3
    assert sorted((r.kind, r.owner, r.status) for r in rows()) == [
        ("case_received", "centre", "pending")] * 3


def test_a_gateway_that_is_down_is_asked_once_per_batch(db):
    for phone in ("081234567890", "081298765432", "081311112222"):
        ticket = serving_ticket()
        cases.open_case(ticket.id, queueing.get_service("ADM-KK"), dict(APPLICANT, phone=phone),
                        [], "", MONDAY_9, "operator.tabang")
    with FakeGateway() as gw:
        gw.mode = "500"
        assert sender.send_due([gateway_channel(gw)], MONDAY_9) == {
            "sent": 0, "retry": 1, "failed": 0}
        assert len(gw.requests) == 1
        assert [r.attempts for r in rows()] == [1, 0, 0]
        assert len(notify.due("centre", MONDAY_9)) == 2  # given back, due at once
        gw.mode = "ok"
        later = MONDAY_9 + dt.timedelta(minutes=1)
        assert sender.send_due([gateway_channel(gw)], later)["sent"] == 3
    assert {r.status for r in rows()} == {"sent"} and len(gw.delivered) == 3
