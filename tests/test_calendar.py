"""Opening windows, quotas, holidays and closures decide whether a service takes tickets."""
import datetime as dt

import pytest

from app.domain import calendar, queueing
from app.errors import Conflict
from app.models import Closure, Site

from .conftest import at


def site(code="tabang"):
    return Site.get(Site.code == code)


def service(code):
    return queueing.get_service(code)


@pytest.mark.parametrize("moment, is_open", [
    (at(30, 7, 59), False), (at(30, 8, 0), True), (at(30, 14, 59), True),
    (at(30, 15, 0), False),
    (at(4, 11, 29, month=12), True),   # Friday closes at 11:30
    (at(4, 11, 30, month=12), False),
    (at(5, 9, 0, month=12), False),    # Saturday
])
def test_hall_hours(db, moment, is_open):
    assert calendar.availability(site(), service("ADM-KTP"), moment).open is is_open


def test_service_hours_narrow_the_hall(db):
    # Imigrasi at the Induk: Mon and Wed 08:00-12:00 only.
    induk, passport = site("induk"), service("IMI-PASPOR")
    assert calendar.availability(induk, passport, at(30, 11, 59)).open
    monday_afternoon = calendar.availability(induk, passport, at(30, 12, 30))
    assert not monday_afternoon.open
    assert monday_afternoon.code == "service_closed"
    assert "Rabu, 2 Desember 2026 pukul 08:00 WITA" in monday_afternoon.message
    assert not calendar.availability(induk, passport, at(1, 9, month=12)).open  # Tuesday


@pytest.mark.parametrize("day, name", [
    (dt.date(2026, 12, 25), "Natal"),
    (dt.date(2026, 12, 24), "Cuti Bersama"),   # cuti bersama (GOVERNMENT category)
    (dt.date(2026, 3, 23), "Cuti Bersama"),   # Idul Fitri joint holiday, a Monday
])
def test_holidays_and_cuti_bersama_close_every_hall(db, day, name):
    moment = dt.datetime.combine(day, dt.time(9), calendar.WITA)
    state = calendar.availability(site(), service("ADM-KTP"), moment)
    assert not state.open and state.code == "service_closed"
    assert name in state.message


def test_closure_table_closes_one_hall(db):
    Closure.create(site=site("tabang"), day=dt.date(2026, 11, 30), reason="Listrik padam")
    assert not calendar.availability(site("tabang"), service("ADM-KTP"), at(30, 9)).open
    assert "Listrik padam" in calendar.availability(site("tabang"), service("ADM-KTP"),
                                                    at(30, 9)).message
    assert calendar.availability(site("anggana"), service("ADM-KTP"), at(30, 9)).open


def test_next_opening_skips_weekend_and_holiday(db):
    # Thursday 24 Dec 2026 is cuti bersama, 25 Dec Christmas, then the weekend.
    state = calendar.availability(site(), service("ADM-KTP"), at(23, 16, month=12))
    assert "Senin, 28 Desember 2026 pukul 08:00" in state.message


def test_quota_is_enforced_when_issuing(db):
    induk, passport = site("induk"), service("IMI-PASPOR")
    for _ in range(30):
        queueing.issue_ticket(induk, passport, at(30, 9))
    with pytest.raises(Conflict) as exc:
        queueing.issue_ticket(induk, passport, at(30, 9, 5))
    assert exc.value.code == "quota_reached"
    assert "sudah habis" in exc.value.message


def test_closed_service_refuses_tickets(db):
    with pytest.raises(Conflict) as exc:
        queueing.issue_ticket(site(), service("ADM-KTP"), at(28, 9))  # Saturday
    assert exc.value.code == "service_closed"


def test_service_not_offered_at_a_mini_hall(db):
    state = calendar.availability(site("tabang"), service("SMS-PKB"), at(30, 9))
    assert state.code == "not_offered"


def test_a_quota_of_zero_stops_walk_ins(db):
    from app.models import SiteService
    passport = service("IMI-PASPOR")
    SiteService.update(daily_quota=0).where((SiteService.site == site("induk"))
                                            & (SiteService.service == passport)).execute()
    with pytest.raises(Conflict) as exc:
        queueing.issue_ticket(site("induk"), passport, at(30, 9))
    assert exc.value.code == "quota_reached"


def test_walk_ins_leave_the_places_promised_to_online_bookings(db):
    """Quota 4 with 2 places booked online: the 3rd walk-in is refused, and both booked
    citizens can still check in."""
    from app.models import Appointment, SiteService
    induk, passport = site("induk"), service("IMI-PASPOR")
    SiteService.update(daily_quota=4).where((SiteService.site == induk)
                                            & (SiteService.service == passport)).execute()
    for n in range(2):
        Appointment.create(code=f"TEST{n}", site=induk, service=passport,
                           day=dt.date(2026, 11, 30),
                           start_at=dt.datetime(2026, 11, 30, 2, 30),
                           end_at=dt.datetime(2026, 11, 30, 3, 0), name="Warga",
                           nik_hash=str(n) * 64, nik_masked="6402********0001",
                           phone="+6281200000000", created_at=dt.datetime(2026, 11, 29))
    for _ in range(2):
        queueing.issue_ticket(induk, passport, at(30, 9))
    with pytest.raises(Conflict) as exc:
        queueing.issue_ticket(induk, passport, at(30, 9, 1))
    assert exc.value.code == "quota_reached"
    for _ in range(2):
        queueing.issue_ticket(induk, passport, at(30, 10, 25), source="appointment",
                              due_at=at(30, 10, 30))
    # once the booked slots are over, unclaimed places go back to walk-ins
    assert queueing.quota_used(induk, passport, dt.date(2026, 11, 30), at(30, 11, 1)) == 4
