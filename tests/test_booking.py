"""Appointments, domain layer, with a fixed `now`: slots from opening windows, holidays,
quotas and the walk-in share, booking rules, cancel, reschedule, check-in."""
import datetime as dt

import pytest

from app.domain import booking, queueing
from app.errors import Conflict, Invalid, NotFound
from app.models import (
    Appointment,
    Closure,
    Counter,
    DayCounter,
    Site,
    SiteService,
    SlotCounter,
    Ticket,
)

from .conftest import MONDAY_9, at

SECRET = "test-secret"
NIKS = [f"640212170885{n:04d}" for n in range(1, 200)]


def site(code="tabang"):
    return Site.get(Site.code == code)


def service(code="ADM-KTP"):
    return queueing.get_service(code)


def plan(day, now=MONDAY_9, site_code="tabang", service_code="ADM-KTP"):
    return booking.day_plan(site(site_code), service(service_code), day, now)


def starts(p):
    return [f"{s.start:%H:%M}" for s in p.slots]


def book(start="10:00", day="2026-11-30", nik=NIKS[0], now=MONDAY_9, site_code="tabang",
         service_code="ADM-KTP", email=None, phone="081234567890"):
    return booking.book(site(site_code), service(service_code), day, start, "Siti Aminah",
                        nik, phone, email, now, SECRET).appointment


# --- slots -------------------------------------------------------------------------

def test_slots_cut_the_hall_hours_in_thirty_minutes(db):
    p = plan(dt.date(2026, 11, 30))
    assert starts(p)[0] == "08:00" and starts(p)[-1] == "14:30" and len(p.slots) == 14
    assert p.slots[0].capacity == 4 and p.closed_reason is None


def test_friday_short_hours(db):
    p = plan(dt.date(2026, 12, 4))
    assert starts(p) == ["08:00", "08:30", "09:00", "09:30", "10:00", "10:30", "11:00"]


def test_service_windows_narrow_the_hall(db):
    # Imigrasi at the Induk: Monday and Wednesday 08:00-12:00 only.
    monday = plan(dt.date(2026, 11, 30), site_code="induk", service_code="IMI-PASPOR")
    assert starts(monday) == ["08:00", "08:30", "09:00", "09:30", "10:00", "10:30",
                              "11:00", "11:30"]
    tuesday = plan(dt.date(2026, 12, 1), site_code="induk", service_code="IMI-PASPOR")
    assert tuesday.slots == [] and "tidak buka pada hari Selasa" in tuesday.closed_reason
    saturday = plan(dt.date(2026, 12, 5))
    assert saturday.slots == [] and "Sabtu" in saturday.closed_reason


def test_slot_length_and_capacity_are_configurable(db):
    booking.set_settings(site(), service(), slot_minutes=45, capacity=2)
    p = plan(dt.date(2026, 12, 4))  # Friday 08:00-11:30: the last 45-minute slot ends 11:15
    assert starts(p) == ["08:00", "08:45", "09:30", "10:15"]
    assert {s.capacity for s in p.slots} == {2}
    with pytest.raises(Invalid):
        booking.set_settings(site(), service(), colour="red")


def test_started_slot_bookable_until_it_ends_past_slots_not(db):
    now = at(30, 9, 20)
    p = plan(dt.date(2026, 11, 30), now=now)
    by_start = {f"{s.start:%H:%M}": s for s in p.slots}
    assert not by_start["08:30"].bookable and by_start["08:30"].available == 0
    assert by_start["09:00"].bookable  # started at 09:00, ends 09:30
    assert book("09:00", now=now).start_at == dt.datetime(2026, 11, 30, 1, 0)
    with pytest.raises(Conflict) as exc:
        book("08:30", nik=NIKS[1], now=now)
    assert exc.value.code == "slot_passed"
    with pytest.raises(Conflict) as exc:
        book("09:00", nik=NIKS[2], now=at(30, 9, 30))
    assert exc.value.code == "slot_passed"


@pytest.mark.parametrize("today, closed", [
    # Christmas week 2026: 24 Dec cuti bersama, 25 Dec Natal; then 1 January 2027.
    (at(21, 9, month=12), {dt.date(2026, 12, 24), dt.date(2026, 12, 25),
                           dt.date(2027, 1, 1)}),
    # Idul Fitri 2026 (21-22 March) with Nyepi (19 March) and the cuti bersama
    # 18, 20, 23, 24 March.
    (at(16, 9, month=3), {dt.date(2026, 3, d) for d in (18, 19, 20, 23, 24)}),
])
def test_holidays_and_cuti_bersama_are_not_offered(db, today, closed):
    days = {p.day for p in booking.bookable_days(site(), service(), today)}
    horizon = [today.date() + dt.timedelta(days=n) for n in range(15)]
    working = {d for d in horizon if d.weekday() < 5} - closed
    assert days == working
    assert not days & closed
    for day in closed:
        p = booking.day_plan(site(), service(), day, today)
        assert p.slots == [] and p.closed_reason.startswith("Libur:")


def test_christmas_refuses_a_booking(db):
    with pytest.raises(Conflict) as exc:
        book("09:00", day="2026-12-25", now=at(21, 9, month=12))
    assert exc.value.code == "day_closed" and "Natal" in exc.value.message


def test_admin_closure_removes_the_day(db):
    Closure.create(site=site(), day=dt.date(2026, 12, 2), reason="Rapat kecamatan")
    days = {p.day for p in booking.bookable_days(site(), service(), MONDAY_9)}
    assert dt.date(2026, 12, 2) not in days and dt.date(2026, 12, 3) in days
    assert booking.bookable_days(site("anggana"), service(), MONDAY_9)[2].day == \
        dt.date(2026, 12, 2)  # another hall is open


def test_today_after_closing_is_not_offered(db):
    days = booking.bookable_days(site(), service(), at(30, 15, 5))
    assert days[0].day == dt.date(2026, 12, 1)


@pytest.mark.parametrize("text", ["2026-11-29", "2026-12-15", "30-11-2026", "2026-02-30",
                                  "", None, "2026-11-30T09:00"])
def test_invalid_dates(db, text):
    with pytest.raises(Invalid) as exc:
        book("10:00", day=text)
    assert exc.value.code == "invalid_date"


def test_a_start_that_is_not_a_slot(db):
    for start in ("10:15", "7:00", "ten", None):
        with pytest.raises(Invalid) as exc:
            book(start)
        assert exc.value.code == "invalid_slot"


# --- capacity, quota and the walk-in share ----------------------------------------------

def test_slot_capacity_is_never_exceeded(db):
    for n in range(4):
        book("10:00", nik=NIKS[n])
    with pytest.raises(Conflict) as exc:
        book("10:00", nik=NIKS[4])
    assert exc.value.code == "slot_full"
    p = plan(dt.date(2026, 11, 30))
    slot = next(s for s in p.slots if f"{s.start:%H:%M}" == "10:00")
    assert (slot.booked, slot.available, slot.bookable) == (4, 0, False)
    assert SlotCounter.get().booked == 4 and Appointment.select().count() == 4


def test_daily_quota_keeps_a_share_for_walk_ins(db):
    # Imigrasi at the Induk: 30 a day, half kept for walk-ins -> 15 bookable.
    induk, passport = site("induk"), service("IMI-PASPOR")
    settings = booking.settings_for(induk, passport)
    assert (settings.daily_quota, settings.day_cap) == (30, 15)
    times = ["08:00", "08:30", "09:00", "09:30", "10:00", "10:30", "11:00", "11:30"]
    booked = 0
    for n in range(15):
        book(times[n // 4 + 1], day="2026-12-02", nik=NIKS[n], site_code="induk",
             service_code="IMI-PASPOR")
        booked += 1
    p = plan(dt.date(2026, 12, 2), site_code="induk", service_code="IMI-PASPOR")
    assert p.available == 0 and (p.day_cap, p.day_booked) == (15, 15)
    with pytest.raises(Conflict) as exc:  # 11:30 still has 4 seats, but the day is used up
        book("11:30", day="2026-12-02", nik=NIKS[20], site_code="induk",
             service_code="IMI-PASPOR")
    assert exc.value.code == "slot_full" and "datang langsung" in exc.value.message
    assert DayCounter.get().booked == 15


def test_walk_in_share_is_configurable(db):
    induk, passport = site("induk"), service("IMI-PASPOR")
    assert booking.set_settings(induk, passport, walk_in_share=0.8).day_cap == 6
    assert booking.set_settings(induk, passport, walk_in_share=1.0).day_cap == 0
    assert plan(dt.date(2026, 12, 2), site_code="induk",
                service_code="IMI-PASPOR").available == 0


def test_no_quota_means_only_slot_capacity(db):
    assert booking.settings_for(site(), service()).day_cap is None


def test_disabled_service_offers_nothing(db):
    booking.set_settings(site(), service(), enabled=False)
    assert booking.bookable_days(site(), service(), MONDAY_9) == []
    with pytest.raises(Conflict) as exc:
        book()
    assert exc.value.code == "booking_disabled"


def test_service_not_offered_at_the_hall(db):
    with pytest.raises(NotFound):  # Samsat is not at the Mini MPP
        book(service_code="SMS-PKB")


# --- people and codes ----------------------------------------------------------------

def test_one_active_booking_per_nik_service_and_day(db):
    first = book("10:00")
    with pytest.raises(Conflict) as exc:
        book("11:00")
    assert exc.value.code == "duplicate_booking"
    book("11:00", service_code="ADM-KK")           # another service: fine
    book("11:00", day="2026-12-01")                # another day: fine
    booking.cancel(first.code, NIKS[0], MONDAY_9, SECRET)
    book("11:00")                                   # cancelled frees the NIK for that day
    assert SlotCounter.get(SlotCounter.start_at == dt.datetime(2026, 11, 30, 2)).booked == 0


def test_nik_is_stored_only_hashed_and_masked(db):
    appt = book(nik="6402121708850003")
    row = Appointment.get_by_id(appt.id)
    stored = " ".join(str(v) for v in row.__data__.values())
    assert "6402121708850003" not in stored
    assert row.nik_masked == "6402********0003" and row.phone == "+6281234567890"


def test_invalid_applicants(db):
    cases = [({"nik": "1234"}, "invalid_nik"), ({"phone": "12345"}, "invalid_phone"),
             ({"email": "siti@"}, "invalid_email")]
    for kwargs, code in cases:
        with pytest.raises(Invalid) as exc:
            book(**kwargs)
        assert exc.value.code == code
    assert Appointment.select().count() == 0


def test_unknown_region_warns_but_books(db):
    result = booking.book(site(), service(), "2026-11-30", "10:00", "Budi", "6499121708850003",
                          "081234567890", None, MONDAY_9, SECRET)
    assert result.appointment.code and result.warnings


def test_codes_are_random_and_readable(db):
    codes = {booking.new_code() for _ in range(2000)}
    assert len(codes) == 2000
    assert all(len(c) == 8 and not set(c) & set("01OI") for c in codes)
    code = book().code
    assert booking.normalise_code(f" {code[:4].lower()}-{code[4:]} ") == code
    assert booking.normalise_code(f"https://mpp.example/booking/janji/{code}") == code
    for bad in ("", "ABC", "ABCD-EFG0", None):
        with pytest.raises(Invalid):
            booking.normalise_code(bad)


def test_view_needs_the_matching_nik(db):
    appt = book()
    assert booking.for_citizen(appt.code, NIKS[0], SECRET).id == appt.id
    for code, nik in [(appt.code, NIKS[1]), (appt.code, "junk"), ("ZZZZZZZZ", NIKS[0])]:
        with pytest.raises(NotFound) as exc:
            booking.for_citizen(code, nik, SECRET)
        assert exc.value.code == "unknown_appointment"
    with pytest.raises(NotFound):  # another installation's key does not match
        booking.for_citizen(appt.code, NIKS[0], "other-secret")


# --- cancel and reschedule -----------------------------------------------------------

def test_cancel_frees_the_place_once(db):
    for n in range(4):
        book("10:00", nik=NIKS[n])
    appt = Appointment.get(Appointment.nik_masked == "6402********0001")
    booking.cancel(appt.code, NIKS[0], MONDAY_9, SECRET)
    with pytest.raises(Conflict) as exc:
        booking.cancel(appt.code, NIKS[0], MONDAY_9, SECRET)
    assert exc.value.code == "appointment_cancelled"
    book("10:00", nik=NIKS[10])
    with pytest.raises(Conflict):
        book("10:00", nik=NIKS[11])


def test_past_appointment_cannot_be_cancelled(db):
    appt = book("09:00")
    with pytest.raises(Conflict) as exc:
        booking.cancel(appt.code, NIKS[0], at(30, 9, 31), SECRET)
    assert exc.value.code == "appointment_past"


def test_reschedule_moves_the_place_and_keeps_the_code(db):
    appt = book("10:00")
    moved = booking.reschedule(appt.code, NIKS[0], "2026-12-01", "13:30", MONDAY_9, SECRET)
    assert moved.code == appt.code and moved.day == dt.date(2026, 12, 1)
    assert moved.start_at == dt.datetime(2026, 12, 1, 5, 30) and moved.reschedules == 1
    counters = {r.start_at: r.booked for r in SlotCounter.select()}
    assert counters == {dt.datetime(2026, 11, 30, 2): 0, dt.datetime(2026, 12, 1, 5, 30): 1}
    book("10:00")  # the NIK's 30 November place is free again
    with pytest.raises(Conflict) as exc:  # ... and now 30 Nov is taken by that booking
        booking.reschedule(appt.code, NIKS[0], "2026-11-30", "11:00", MONDAY_9, SECRET)
    assert exc.value.code == "duplicate_booking"
    with pytest.raises(Conflict) as exc:
        booking.reschedule(appt.code, NIKS[0], "2026-12-01", "13:30", MONDAY_9, SECRET)
    assert exc.value.code == "same_slot"


def test_reschedule_into_a_full_slot_changes_nothing(db):
    for n in range(1, 5):
        book("11:00", nik=NIKS[n])
    appt = book("10:00")
    with pytest.raises(Conflict) as exc:
        booking.reschedule(appt.code, NIKS[0], "2026-11-30", "11:00", MONDAY_9, SECRET)
    assert exc.value.code == "slot_full"
    assert Appointment.get_by_id(appt.id).start_at == dt.datetime(2026, 11, 30, 2)
    assert SlotCounter.get(SlotCounter.start_at == dt.datetime(2026, 11, 30, 2)).booked == 1


# --- check-in --------------------------------------------------------------------------

def test_check_in_issues_an_appointment_ticket_due_at_the_slot(db):
    appt = book("10:00")
    queueing.issue_ticket(site(), service(), at(30, 9, 30))  # a walk-in came first
    appt, ticket = booking.check_in(site(), appt.code, at(30, 9, 40))
    assert (ticket.source, ticket.due_at) == ("appointment", dt.datetime(2026, 11, 30, 2))
    assert (appt.status, appt.ticket_id) == ("checked_in", ticket.id)
    # From 10:00 the appointment goes ahead of the walk-in.
    counter = Counter.get((Counter.site == site()) & (Counter.code == "L1"))
    assert queueing.call_next(counter, at(30, 10, 1)).id == ticket.id
    with pytest.raises(Conflict) as exc:
        booking.check_in(site(), appt.code, at(30, 10, 2))
    assert exc.value.code == "already_checked_in" and ticket.number in exc.value.message


def test_check_in_only_at_the_booked_hall(db):
    appt = book("10:00")
    with pytest.raises(Conflict) as exc:
        booking.check_in(site("anggana"), appt.code, at(30, 9, 40))
    assert exc.value.code == "wrong_site" and "Tabang" in exc.value.message
    assert Ticket.select().count() == 0


@pytest.mark.parametrize("moment, code", [
    (at(30, 8, 59), "too_early"),    # check-in opens an hour before 10:00
    (at(30, 9, 0), None),
    (at(30, 10, 30), None),          # 30 minutes' grace
    (at(30, 10, 31), "expired"),
    (at(1, 9, 30, month=12), "expired"),
])
def test_check_in_window(db, moment, code):
    appt = book("10:00")
    if code is None:
        assert booking.check_in(site(), appt.code, moment)[1].source == "appointment"
        return
    with pytest.raises(Conflict) as exc:
        booking.check_in(site(), appt.code, moment)
    assert exc.value.code == code
    assert Appointment.get_by_id(appt.id).status == "booked"


def test_too_early_says_when_to_come_back(db):
    appt = book("08:30", day="2026-12-01")
    with pytest.raises(Conflict) as exc:
        booking.check_in(site(), appt.code, at(30, 14))
    assert exc.value.code == "too_early"
    # Not before the hall opens: 08:00, not 07:30.
    assert "Selasa, 1 Desember 2026 pukul 08:00 WITA" in exc.value.message
    assert exc.value.detail["come_back_at"] == "2026-12-01T08:00+08:00"


def test_expired_offers_a_walk_in_ticket(db):
    appt = book("10:00")
    with pytest.raises(Conflict) as exc:
        booking.check_in(site(), appt.code, at(30, 11))
    assert exc.value.detail == {"walk_in": True, "service": "ADM-KTP"}
    assert booking.status_of(Appointment.get_by_id(appt.id), at(30, 11)) == "expired"


def test_cancelled_and_unknown_codes(db):
    appt = book("10:00")
    booking.cancel(appt.code, NIKS[0], MONDAY_9, SECRET)
    with pytest.raises(Conflict) as exc:
        booking.check_in(site(), appt.code, at(30, 9, 45))
    assert exc.value.code == "appointment_cancelled"
    with pytest.raises(NotFound):
        booking.check_in(site(), "ZZZZ2222", at(30, 9, 45))


def test_check_in_is_not_refused_by_the_quota(db):
    # Imigrasi at a Mini MPP: Tuesdays. Quota 2, half kept for walk-ins: one booking.
    SiteService.update(daily_quota=2).where(SiteService.site == site()).execute()
    booking.set_settings(site(), service("IMI-PASPOR"), walk_in_share=0.5)
    appt = book("10:00", day="2026-12-01", service_code="IMI-PASPOR")
    queueing.issue_ticket(site(), service("IMI-PASPOR"), at(1, 9, month=12))
    # ... the walk-ins' share is used up: the booked place is not for walk-ins ...
    with pytest.raises(Conflict):
        queueing.issue_ticket(site(), service("IMI-PASPOR"), at(1, 9, 1, month=12))
    # ... and the booked citizen gets a ticket.
    assert booking.check_in(site(), appt.code, at(1, 9, 30, month=12))[1].number == "E002"


def test_old_personal_data_is_forgotten(db):
    from app.models import MailMessage
    appt = book("10:00", email="siti@example.com")
    MailMessage.update(status="sent").execute()
    assert booking.forget_old(at(28, 9, month=2, year=2027), days=90) == 0  # 90 days: kept
    assert booking.forget_old(at(1, 9, month=3, year=2027), days=90) == 1
    row = Appointment.get_by_id(appt.id)
    assert (row.name, row.phone, row.email, row.status) == ("-", "-", None, "booked")
    assert MailMessage.select().count() == 0


def test_cli_booking_settings(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["mpp", "booking-settings", "induk", "IMI-PASPOR",
                                 "--capacity", "6", "--walk-in-share", "0.4"])
    assert result.exit_code == 0, result.output
    assert "capacity: 6" in result.output and "day_cap: 18" in result.output
    result = runner.invoke(args=["mpp", "booking-settings", "tabang", "SMS-PKB"])
    assert result.exit_code != 0 and "tidak tersedia" in result.output
    result = runner.invoke(args=["mpp", "forget-appointments"])
    assert result.exit_code == 0 and "cleared 0" in result.output
