"""Reports on a hand-made morning at Tabang (tests/test_visits.py `morning`), every
figure worked out by hand; who may see which report."""
import datetime as dt

import pytest

from app.domain import booking, cases, forwarding, link_rows, reports, visits
from app.errors import Forbidden, Invalid, NotFound
from app.models import ForwardingMessage, Site, User

from .casekit import NIK, serving_ticket
from .conftest import at
from .test_booking import NIKS, SECRET, book
from .test_visits import morning

DAY = dt.date(2026, 11, 30)


def user(name):
    return User.get(User.username == name)


def tabang_day():
    return reports.scope(user("supervisor.tabang"), DAY, DAY)


def test_the_mornings_totals(db):
    morning()
    report = reports.summary(tabang_day(), at(30, 9, 5))
    assert (report["arrived"], report["served"], report["no_show"]) == (3, 2, 0)
    assert (report["transferred"], report["cancelled"], report["no_show_rate"]) == (1, 0, 0.0)
    # Waits 20 and 36 minutes; R001 not called yet.
    assert report["wait_minutes"] == {"mean": 28.0, "p50": 20, "p90": 36, "max": 36.0}
    # Service 18 minutes and 0 (finished without a start).
    assert report["service_minutes"] == {"mean": 9.0, "p90": 18}
    assert report["within_target_pct"] == 50.0  # 20 min within 30, 36 not
    assert report["incomplete_sites"] == []


def test_the_mornings_breakdowns(db):
    morning()
    report = reports.summary(tabang_day(), at(30, 9, 5))
    services = {row["key"]: row for row in report["by_service"]}
    assert services["ADM-KTP"]["arrived"] == 3 and services["ADM-KTP"]["transferred"] == 0
    assert services["INFO"]["transferred"] == 1  # counted where the citizen left
    assert [(r["key"], r["served"]) for r in report["by_counter"]] == [("tabang/L1", 2)]
    operators = {r["key"]: r for r in report["by_operator"]}
    assert operators["operator.tabang"]["served"] == 2
    assert operators["supervisor.tabang"]["arrived"] == 1  # the transfer was theirs
    assert [(r["key"], r["arrived"]) for r in report["by_site"]] == [("tabang", 3)]
    assert [(r["key"], r["arrived"]) for r in report["by_agency"]] == [("disdukcapil", 3)]
    assert report["by_hour"] == [{"weekday": 0, "hour": 8, "arrived": 3}]
    assert [(r["key"], r["arrived"]) for r in report["by_day"]] == [("2026-11-30", 3)]


def test_a_percentile_is_a_nearest_rank_in_whole_minutes():
    histogram = [(m, 1) for m in range(1, 11)]  # 1..10 minutes, one each
    assert reports._percentile(histogram, 0.5) == 5
    assert reports._percentile(histogram, 0.9) == 9
    assert reports._percentile([(7, 3)], 0.9) == 7
    assert reports._percentile([], 0.5) is None


def test_scope(db):
    supervisor = user("supervisor.tabang")
    assert reports.scope(supervisor, DAY, DAY).site.code == "tabang"
    with pytest.raises(Forbidden):
        reports.scope(supervisor, DAY, DAY, site_code="induk")
    officer = user("officer.disdukcapil")
    assert reports.scope(officer, DAY, DAY).agency.code == "disdukcapil"
    with pytest.raises(Forbidden):
        reports.scope(officer, DAY, DAY, agency_code="informasi")
    with pytest.raises(Forbidden):
        reports.scope(officer, DAY, DAY, service_code="INFO")
    with pytest.raises(Forbidden):
        reports.scope(user("operator.tabang"), DAY, DAY)
    admin = user("admin")
    assert reports.scope(admin, DAY, DAY).site is None
    with pytest.raises(NotFound):
        reports.scope(admin, DAY, DAY, site_code="atlantis")
    with pytest.raises(Invalid):
        reports.scope(admin, DAY, DAY - dt.timedelta(days=1))
    with pytest.raises(Invalid):
        reports.scope(admin, DAY - dt.timedelta(days=500), DAY)


def test_an_officer_sees_only_their_agency(db):
    morning()
    report = reports.summary(reports.scope(user("officer.disdukcapil"), DAY, DAY),
                             at(30, 9, 5))
    assert report["arrived"] == 3  # all three ended at KTP (Disdukcapil)
    informasi = User.get(User.username.startswith("officer.") & (User.agency.is_null(False))
                         & ~(User.username == "officer.disdukcapil"))
    other = reports.summary(reports.scope(informasi, DAY, DAY), at(30, 9, 5), refresh=False)
    assert other["arrived"] == 0


def test_periods():
    now = at(30, 9, 0)
    assert reports.period("day", "2026-11-04", None, now) == (dt.date(2026, 11, 4),) * 2
    assert reports.period("week", "2026-11-04", None, now) == (
        dt.date(2026, 11, 2), dt.date(2026, 11, 8))
    assert reports.period("month", "2026-02-10", None, now) == (
        dt.date(2026, 2, 1), dt.date(2026, 2, 28))
    assert reports.period(None, None, None, now) == (dt.date(2026, 11, 1), DAY)
    assert reports.month_period("2026-12", now) == (dt.date(2026, 12, 1), dt.date(2026, 12, 31))
    for bad in ("2026-13", "x", "2026"):
        with pytest.raises(Invalid):
            reports.month_period(bad, now)
    with pytest.raises(Invalid):
        reports.period("year", None, None, now)


def test_the_centre_names_halls_whose_facts_lag(db):
    link_rows.configure("central")
    try:
        f = reports.scope(user("admin"), DAY, DAY)
        lagging = {row["site"] for row in reports.incomplete_sites(f, at(30, 9, 0))}
        assert "tabang" in lagging and "induk" in lagging  # no tickets, no pulse yet
        tabang = Site.get(Site.code == "tabang")
        pulse = visits.pulse(tabang, at(30, 8, 58))
        visits.record_pulse(tabang, {k: str(v) for k, v in pulse.items()}, at(30, 8, 58))
        lagging = {row["site"] for row in reports.incomplete_sites(f, at(30, 9, 0))}
        assert "tabang" not in lagging
        # The day is over; data up to 08:58 is not the whole day.
        lagging = {row["site"] for row in reports.incomplete_sites(f, at(30, 23, 0))}
        assert "tabang" in lagging
    finally:
        link_rows.configure("all-in-one")


def test_bookings_of_the_period(db):
    made = [book("10:00", nik=NIKS[0], now=at(27, 9)), book("10:30", nik=NIKS[1], now=at(28, 9)),
            book("11:00", nik=NIKS[2], now=at(29, 9))]
    booking.cancel(made[2].code, NIKS[2], at(29, 10), SECRET)
    figures = reports.bookings(tabang_day())
    # Made on Friday, Saturday and Sunday for Monday: 3, 2 and 1 days ahead.
    assert figures == {"made": 3, "checked_in": 0, "no_show": 0, "cancelled": 1, "booked": 2,
                       "lead_days_mean": 2.0}


def test_cases_of_the_period(db):
    opened = []
    for minute in (0, 10):
        ticket = serving_ticket(now=at(30, 9, minute))
        opened.append(cases.open_case(ticket.id, ticket.service, {
            "name": "Siti", "nik": NIK, "phone": "081234567890"}, [], "", at(30, 9, minute),
            "operator.tabang"))
    forwarding.receive_batch(opened[0].site, [{"body": m.body} for m in ForwardingMessage
                                              .select()], at(30, 9, 20), "/nonexistent", 10)
    officer = user("officer.disdukcapil")
    for status in ("processing", "done", "ready_for_pickup"):
        cases.set_status_central(opened[0].tracking_code, status, at(30, 21, 0), officer)
    figures = reports.cases(tabang_day())
    assert (figures["opened"], figures["ready"]) == (2, 1)
    assert figures["in_process"] == 1
    # Received 09:00, ready 21:00 the same day: half a day.
    assert figures["days_to_ready"] == [{"agency": "disdukcapil", "name": figures[
        "days_to_ready"][0]["name"], "cases": 1, "median_days": 0.5}]


def test_one_halls_day(db):
    morning()
    tabang = Site.get(Site.code == "tabang")
    stats = reports.day_stats(tabang, DAY, at(30, 9, 5))
    assert (stats["issued"], stats["served"], stats["no_show"]) == (3, 2, 0)
    assert stats["waiting"] == 1  # R001, today
    assert stats["wait_minutes"] == {"mean": 28.0, "p90": 36}
    assert stats["service_minutes"] == {"mean": 9.0, "p90": 18}
    assert [(r["service"], r["issued"], r["served"]) for r in stats["by_service"]] == [
        ("ADM-KTP", 3, 2)]  # INFO's only visit ended at KTP: no row of its own
    # Another day: nobody waits then, whatever waits now.
    earlier = reports.day_stats(tabang, DAY - dt.timedelta(days=1), at(30, 9, 5))
    assert (earlier["issued"], earlier["waiting"], earlier["by_service"]) == (0, 0, [])
    assert earlier["wait_minutes"] == {"mean": None, "p90": None}


def test_what_the_form_offers_each_caller(db):
    supervisor = reports.choices(user("supervisor.tabang"))
    assert supervisor["sites"] is None and supervisor["agencies"] is None
    assert {"ADM-KTP", "INFO"} <= {code for code, _name in supervisor["services"]}
    officer = reports.choices(user("officer.disdukcapil"))
    assert officer["agencies"] is None and ("tabang", "Mini MPP Tabang") in officer["sites"]
    assert "INFO" not in {code for code, _name in officer["services"]}
    admin = reports.choices(user("admin"))
    assert admin["sites"][0][0] == "induk" and len(admin["agencies"]) >= 2
    with pytest.raises(Forbidden):
        reports.choices(user("operator.tabang"))


def test_a_halls_day_at_the_centre_waits_as_its_box_said(db):
    """At the centre a hall with its own box has no tickets here: who waits now is what
    its last pulse said."""
    tabang = Site.get(Site.code == "tabang")
    visits.record_pulse(tabang, {"waiting": "7", "longest": "600", "served": "12",
                                 "pending": "0", "until": str(int(at(30, 9, 0).timestamp())),
                                 "day": "2026-11-30"}, at(30, 9, 0))
    assert reports.day_stats(tabang, DAY, at(30, 9, 1))["waiting"] == 7
    # Yesterday's pulse says nothing about today: the tickets here count (none).
    visits.record_pulse(tabang, {"waiting": "7", "longest": "600", "served": "12",
                                 "pending": "0", "until": "1", "day": "2026-11-29"},
                        at(30, 9, 0))
    assert reports.day_stats(tabang, DAY, at(30, 9, 1))["waiting"] == 0
