"""Appointments between the centre and a hall, domain layer (app/domain/appointment_feed.py).

One database plays both nodes: the centre's role writes the feed, the rows are then
removed to stand for a hall that has never seen them, and the hall's role applies the
feed (as `mpp sync` would after a pull) and sends its facts back up."""
import datetime as dt
import json

import pytest

from app.domain import appointment_feed, booking, forwarding, link_rows
from app.errors import Conflict
from app.models import Appointment, CaseUpdate, DayCounter, ForwardingMessage, Site, SlotCounter

from .conftest import MONDAY_9, at
from .test_booking import NIKS, SECRET, book


@pytest.fixture
def role():
    def set_role(name):
        link_rows.configure(name)
    yield set_role
    link_rows.configure("all-in-one")


def tabang():
    return Site.get(Site.code == "tabang")


def feed():
    return forwarding.updates_since(tabang(), 0)


def hall_copy(page, now=MONDAY_9):
    """Turn the one database into the hall: the centre's rows go, the feed is applied.
    Returns the hall's counters before, to compare."""
    Appointment.delete().execute()
    counters = _counters()
    forwarding.apply_updates(tabang(), page["updates"], page["cursor"], now)
    return counters


def _counters():
    return (sorted((c.start_at, c.booked) for c in SlotCounter.select()),
            sorted((c.day, c.booked) for c in DayCounter.select()))


def outbox(kind=None):
    rows = ForwardingMessage.select().order_by(ForwardingMessage.id)
    if kind:
        rows = rows.where(ForwardingMessage.kind == kind)
    return list(rows)


def receive(rows, now=MONDAY_9, site=None):
    messages = [{"body": r.body} for r in rows]
    return forwarding.receive_batch(site or tabang(), messages, now, "/nonexistent", 1000)


# --- the centre writes the feed ------------------------------------------------------

def test_booking_at_the_centre_writes_the_halls_feed(db, role):
    role("central")
    appt = book("10:00", email="siti@example.org")
    page = feed()
    assert [u["kind"] for u in page["updates"]] == ["appointment.booked"]
    body = page["updates"][0]["body"]
    assert body == {"code": appt.code, "site": "tabang", "service": "ADM-KTP",
                    "day": "2026-11-30", "start_at": "2026-11-30T02:00:00",
                    "end_at": "2026-11-30T02:30:00", "status": "booked",
                    "name": "Siti Aminah", "nik_masked": appt.nik_masked,
                    "nik_hash": booking.nik_hash(SECRET, NIKS[0]),
                    "created_at": appt.created_at.isoformat(), "reschedules": 0}
    text = json.dumps(body)
    assert NIKS[0] not in text and "0812" not in text and "example.org" not in text
    # a refused booking writes nothing
    with pytest.raises(Conflict):
        book("10:00")  # same NIK, same day
    assert len(feed()["updates"]) == 1
    booking.reschedule(appt.code, NIKS[0], "2026-11-30", "11:00", MONDAY_9, SECRET)
    booking.cancel(appt.code, NIKS[0], MONDAY_9, SECRET)
    page = feed()
    assert [(u["seq"], u["kind"], u["body"]["status"], u["body"]["start_at"][11:16])
            for u in page["updates"]] == [
        (1, "appointment.booked", "booked", "02:00"),
        (2, "appointment.rescheduled", "booked", "03:00"),
        (3, "appointment.cancelled", "cancelled", "03:00")]


def test_all_in_one_writes_no_feed(db):
    book("10:00")
    assert CaseUpdate.select().count() == 0


def test_a_hall_does_not_book(db, role):
    appt = book("10:00")
    role("site")
    for attempt in (lambda: book("11:00", nik=NIKS[1]),
                    lambda: booking.cancel(appt.code, NIKS[0], MONDAY_9, SECRET),
                    lambda: booking.reschedule(appt.code, NIKS[0], "2026-11-30", "11:00",
                                               MONDAY_9, SECRET)):
        with pytest.raises(Conflict) as exc:
            attempt()
        assert exc.value.code == "book_at_centre"


# --- the hall applies it -------------------------------------------------------------

def test_the_hall_copy_checks_in_offline_without_touching_its_counters(db, role):
    role("central")
    appt = book("09:00")
    page = feed()
    role("site")
    before = hall_copy(page)
    copy = Appointment.get(Appointment.code == appt.code)
    assert (copy.status, copy.start_at, copy.nik_hash, copy.phone, copy.email,
            copy.active_key) == ("booked", appt.start_at, appt.nik_hash, "", None, None)
    assert _counters() == before  # the centre owns capacity
    # the citizen can still prove "code + NIK" at the hall
    assert booking.for_citizen(appt.code, NIKS[0], SECRET).id == copy.id
    # idempotent: the same updates applied again change nothing
    for update in page["updates"]:
        appointment_feed.apply_appointment(tabang(), update["body"], MONDAY_9)
    assert Appointment.select().count() == 1 and _counters() == before
    assert forwarding.apply_updates(tabang(), page["updates"], page["cursor"], MONDAY_9) == 0
    # check-in at the kiosk: a ticket, and one outbox message in the same transaction
    appt2, ticket = booking.check_in(tabang(), appt.code, at(30, 8, 30))
    assert appt2.status == "checked_in" and ticket.source == "appointment"
    [message] = outbox()
    body = json.loads(message.body)
    assert (message.kind, body["site"], body["data"]["code"], body["data"]["ticket"]) == (
        "appointment.checked_in", "tabang", appt.code, ticket.number)


def _centre_then_hall(role, *changes):
    """Book at the centre, make `changes` there, and return the hall's page of
    updates after each step (each step's page holds only the new rows)."""
    role("central")
    appt = book("10:00")
    pages = [feed()]
    for change in changes:
        change(appt)
        page = forwarding.updates_since(tabang(), pages[-1]["cursor"])
        pages.append(page)
    return appt, pages


def test_cancel_and_reschedule_after_the_pull(db, role):
    appt, pages = _centre_then_hall(
        role,
        lambda a: booking.reschedule(a.code, NIKS[0], "2026-11-30", "13:00", MONDAY_9,
                                     SECRET),
        lambda a: booking.cancel(a.code, NIKS[0], MONDAY_9, SECRET))
    role("site")
    hall_copy(pages[0])  # the hall pulled the booking ...
    copy = Appointment.get(Appointment.code == appt.code)
    assert copy.start_at == dt.datetime(2026, 11, 30, 2, 0)
    # ... then the reschedule: the check-in window follows the new slot
    forwarding.apply_updates(tabang(), pages[1]["updates"], pages[1]["cursor"], MONDAY_9)
    copy = Appointment.get(Appointment.code == appt.code)
    assert copy.start_at == dt.datetime(2026, 11, 30, 5, 0) and copy.reschedules == 1
    with pytest.raises(Conflict) as exc:
        booking.check_in(tabang(), appt.code, at(30, 9, 45))
    assert exc.value.code == "too_early"
    # ... then the cancellation
    forwarding.apply_updates(tabang(), pages[2]["updates"], pages[2]["cursor"], MONDAY_9)
    assert Appointment.get(Appointment.code == appt.code).status == "cancelled"
    with pytest.raises(Conflict) as exc:
        booking.check_in(tabang(), appt.code, at(30, 12, 45))
    assert exc.value.code == "appointment_cancelled"
    assert Appointment.select().count() == 1 and not outbox()


def test_a_check_in_at_the_hall_outlives_a_cancellation_pulled_later(db, role):
    appt, pages = _centre_then_hall(
        role, lambda a: booking.cancel(a.code, NIKS[0], MONDAY_9, SECRET))
    role("site")
    hall_copy(pages[0])
    booking.check_in(tabang(), appt.code, at(30, 9, 30))  # link down: cancel not seen
    forwarding.apply_updates(tabang(), pages[1]["updates"], pages[1]["cursor"], MONDAY_9)
    assert Appointment.get(Appointment.code == appt.code).status == "checked_in"


def test_updates_for_another_hall_or_unknown_service_are_skipped(db, role):
    role("site")
    good = {"code": "ABCD2345", "site": "tabang", "service": "ADM-KTP", "day": "2026-11-30",
            "start_at": "2026-11-30T02:00:00", "end_at": "2026-11-30T02:30:00",
            "status": "booked", "name": "X", "nik_masked": "6402********0001",
            "nik_hash": "0" * 64, "created_at": "2026-11-29T02:00:00", "reschedules": 0}
    for bad in ({**good, "site": "induk"}, {**good, "service": "NOPE"},
                {**good, "status": "eaten"}, {**good, "start_at": "soon"},
                {k: v for k, v in good.items() if k != "nik_hash"}):
        appointment_feed.apply_appointment(tabang(), bad, MONDAY_9)
    assert Appointment.select().count() == 0
    appointment_feed.apply_appointment(tabang(), good, MONDAY_9)
    assert Appointment.select().count() == 1


# --- the hall's facts go up ----------------------------------------------------------

def _hall_checked_in(role):
    """Centre books; hall pulls and checks in. Returns (code, hall outbox rows, centre
    feed page) with the centre's row put back as it was before the check-in."""
    role("central")
    appt = book("09:00")
    page = feed()
    centre_row = Appointment.get(Appointment.code == appt.code).__data__.copy()
    role("site")
    hall_copy(page)
    booking.check_in(tabang(), appt.code, at(30, 8, 45))
    rows = outbox("appointment.checked_in")
    Appointment.delete().execute()  # back to the centre's side
    Appointment.insert(**centre_row).execute()
    role("central")
    return appt.code, rows


def test_the_centre_records_a_hall_check_in_exactly_once(db, role):
    code, rows = _hall_checked_in(role)
    assert [r["status"] for r in receive(rows)] == ["stored"]
    assert [r["status"] for r in receive(rows)] == ["duplicate"]
    appt = Appointment.get(Appointment.code == code)
    assert appt.status == "checked_in"
    assert appt.checked_in_at == dt.datetime(2026, 11, 30, 0, 45)
    # the citizen looking online sees it, and can no longer cancel
    assert booking.status_of(appt, at(30, 12)) == "checked_in"
    with pytest.raises(Conflict) as exc:
        booking.cancel(code, NIKS[0], MONDAY_9, SECRET)
    assert exc.value.code == "already_checked_in"
    # the hall already knows: nothing goes back down
    assert [u["kind"] for u in feed()["updates"]] == ["appointment.booked"]


def test_a_hall_check_in_wins_over_an_online_cancellation(db, role):
    code, rows = _hall_checked_in(role)
    booking.cancel(code, NIKS[0], MONDAY_9, SECRET)  # while the link was down
    assert [r["status"] for r in receive(rows)] == ["stored"]
    assert Appointment.get(Appointment.code == code).status == "checked_in"


def test_check_in_messages_from_the_wrong_hall_or_unknown_code_are_refused(db, role):
    code, rows = _hall_checked_in(role)
    induk = Site.get(Site.code == "induk")
    forged = json.loads(rows[0].body)
    forged["site"] = "induk"
    results = forwarding.receive_batch(induk, [{"body": link_rows.canonical(forged)}], MONDAY_9,
                                 "/nonexistent", 1000)
    assert results[0]["code"] == "wrong_site"
    unknown = json.loads(rows[0].body)
    unknown.update(id="f" * 32, data={**unknown["data"], "code": "ZZZZ2345"})
    assert receive([ForwardingMessage(body=link_rows.canonical(unknown))])[0]["code"] == \
        "unknown_appointment"
    assert Appointment.get(Appointment.code == code).status == "booked"


def test_malformed_appointment_messages_are_refused_not_crashed(db, role):
    code, rows = _hall_checked_in(role)
    good = json.loads(rows[0].body)
    bad_data = [{"code": code, "at": "yesterday"}, {"code": code},
                {"code": ["x"], "at": "2026-11-30T01:00:00"}, {}]
    messages = []
    for n, data in enumerate(bad_data):
        messages.append({"body": link_rows.canonical({**good, "id": f"{n:032x}", "data": data})})
    messages.append({"body": link_rows.canonical({**good, "id": "e" * 32,
                                              "kind": "appointment.no_show",
                                              "data": {"code": code}})})
    results = forwarding.receive_batch(tabang(), messages, MONDAY_9, "/nonexistent", 1000)
    assert [r.get("code") for r in results] == [
        "invalid_message", "invalid_message", "unknown_appointment", "unknown_appointment",
        "invalid_message"]
    assert Appointment.get(Appointment.code == code).status == "booked"


def test_no_show_at_the_hall_goes_up(db, role):
    role("central")
    appt = book("09:00")
    later = book("11:00", nik=NIKS[1])
    page = feed()
    centre_rows = [a.__data__.copy() for a in Appointment.select()]
    role("site")
    hall_copy(page)
    site = tabang()
    assert booking.sweep_no_shows(site, at(30, 9, 30)) == 0  # the window is still open
    assert booking.sweep_no_shows(site, at(30, 9, 31)) == 1
    assert booking.sweep_no_shows(site, at(30, 9, 45)) == 0  # once
    assert Appointment.get(Appointment.code == appt.code).status == "no_show"
    assert Appointment.get(Appointment.code == later.code).status == "booked"
    with pytest.raises(Conflict) as exc:
        booking.check_in(site, appt.code, at(30, 9, 50))
    assert exc.value.code == "expired"
    rows = outbox("appointment.no_show")
    assert len(rows) == 1
    Appointment.delete().execute()
    for row in centre_rows:
        Appointment.insert(**row).execute()
    role("central")
    assert [r["status"] for r in receive(rows, at(30, 10))] == ["stored"]
    assert Appointment.get(Appointment.code == appt.code).status == "no_show"
    assert booking.status_of(Appointment.get(Appointment.code == appt.code),
                             at(30, 10)) == "no_show"
    assert [r["status"] for r in receive(rows, at(30, 10))] == ["duplicate"]


def _snapshot():
    return [a.__data__.copy() for a in Appointment.select()]


def _restore(rows):
    Appointment.delete().execute()
    for row in rows:
        Appointment.insert(**row).execute()


def test_a_no_show_for_a_slot_since_moved_is_ignored(db, role):
    role("central")
    appt = book("09:00")
    first = feed()
    centre = _snapshot()
    role("site")
    hall_copy(first)
    booking.sweep_no_shows(tabang(), at(30, 9, 40))  # the link is down
    rows = outbox("appointment.no_show")
    hall = _snapshot()
    # meanwhile, at the centre, the citizen moved the booking to 13:00
    _restore(centre)
    role("central")
    booking.reschedule(appt.code, NIKS[0], "2026-11-30", "13:00", MONDAY_9, SECRET)
    moved = forwarding.updates_since(tabang(), first["cursor"])
    assert [r["status"] for r in receive(rows, at(30, 9, 45))] == ["stored"]
    row = Appointment.get(Appointment.code == appt.code)
    assert (row.status, row.start_at) == ("booked", dt.datetime(2026, 11, 30, 5, 0))
    # and the hall takes the move over its no-show of the old slot
    _restore(hall)
    role("site")
    forwarding.apply_updates(tabang(), moved["updates"], moved["cursor"], at(30, 9, 45))
    row = Appointment.get(Appointment.code == appt.code)
    assert (row.status, row.start_at) == ("booked", dt.datetime(2026, 11, 30, 5, 0))
    booking.check_in(tabang(), appt.code, at(30, 12, 30))


def test_all_in_one_check_in_goes_through_the_receiver(app, db):
    appt = book("09:00")
    booking.check_in(tabang(), appt.code, at(30, 8, 45))
    result = app.test_cli_runner().invoke(args=["mpp", "sync"])
    assert result.exit_code == 0, result.output
    assert "tabang: delivered 1, refused 0" in result.output
    assert Appointment.get(Appointment.code == appt.code).status == "checked_in"
    assert CaseUpdate.select().count() == 0


def test_a_message_refused_at_parse_time_is_answered_with_its_id(db, role):
    """A newer hall sending a kind this centre does not know must get its message
    settled (refused), or the hall would re-send it forever and block its queue."""
    code, rows = _hall_checked_in(role)
    unknown = {**json.loads(rows[0].body), "id": "a" * 32, "kind": "appointment.teleported"}
    results = forwarding.receive_batch(tabang(), [{"body": link_rows.canonical(unknown)}], MONDAY_9,
                                 "/nonexistent", 1000)
    assert [(r["id"], r["status"]) for r in results] == [("a" * 32, "refused")]
    garbage = forwarding.receive_batch(tabang(), [{"body": "{not json"}], MONDAY_9,
                                 "/nonexistent", 1000)
    assert garbage[0]["status"] == "refused" and garbage[0]["id"] == ""
