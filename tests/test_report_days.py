"""A closed day's tallies kept for the kabupaten's reports (`VisitDay`): the report made
from them is the report made from the facts; a fact written later for that day voids
them; a report never stores what it read before such a write; today is never kept."""
import datetime as dt

import pytest

from app.domain import forwarding, link_rows, queueing, reports, visits
from app.models import Site, User, VisitDay, VisitFact

from .conftest import at
from .test_visits import _sent, _wire_batch, morning

NOVEMBER = (dt.date(2026, 11, 1), dt.date(2026, 11, 30))
DEC_1 = at(1, 10, 0, month=12)  # Tuesday: 30 November is closed


def kabupaten(first=NOVEMBER[0], last=NOVEMBER[1]):
    return reports.scope(User.get(User.username == "admin"), first, last)


def from_the_facts(f) -> dict:
    """The figures the report must give, read from the facts with nothing kept."""
    families = reports._Families(f)
    return {**families.totals(), **{f"by_{by}": families.breakdown(by) for by in
                                    reports.GROUPS}, "by_hour": families.heat_map()}


def figures_of(report: dict) -> dict:
    return {key: value for key, value in report.items()
            if key not in ("period", "cases", "bookings", "incomplete_sites",
                           "generated_at")}


def kept(day):
    return VisitDay.get_or_none(VisitDay.day == day)


def test_a_closed_day_is_kept_and_read_back_with_the_same_figures(db):
    morning()
    f = kabupaten()
    first = reports.summary(f, DEC_1)  # makes and keeps 1-30 November
    assert kept(dt.date(2026, 11, 30)).tallies is not None
    assert kept(dt.date(2026, 11, 1)).tallies is not None  # a day without visits too
    second = reports.summary(f, DEC_1)  # reads them back
    assert figures_of(first) == figures_of(second) == from_the_facts(f)
    assert (second["arrived"], second["served"], second["transferred"]) == (3, 2, 1)
    assert second["wait_minutes"] == {"mean": 28.0, "p50": 20, "p90": 36, "max": 36.0}
    services = {row["key"]: row for row in second["by_service"]}
    assert services["INFO"]["transferred"] == 1  # where the citizen left
    assert [(r["key"], r["served"]) for r in second["by_counter"]] == [("tabang/L1", 2)]


def test_a_period_of_closed_and_open_days_adds_both(db):
    morning()
    f = kabupaten(dt.date(2026, 11, 30), dt.date(2026, 12, 1))
    site = queueing.get_site("tabang")
    queueing.issue_ticket(site, queueing.get_service("ADM-KK"), DEC_1)  # today: live
    report = reports.summary(f, DEC_1 + dt.timedelta(minutes=1))
    assert report["arrived"] == 4 and kept(dt.date(2026, 12, 1)) is None
    assert figures_of(report) == from_the_facts(f)
    assert [(r["key"], r["arrived"]) for r in report["by_day"]] == [
        ("2026-11-30", 3), ("2026-12-01", 1)]


def test_a_late_change_voids_the_day_and_the_next_report_has_it(db):
    _first, _second, third = morning()
    f = kabupaten()
    reports.summary(f, DEC_1)
    version = kept(dt.date(2026, 11, 30)).version
    # R001 of 30 November, still waiting, sent back to INFO the next morning.
    queueing.transfer(third.id, queueing.get_service("INFO"), DEC_1, "supervisor.tabang")
    visits.refresh(DEC_1)
    day = kept(dt.date(2026, 11, 30))
    assert day.tallies is None and day.version == version + 1
    report = reports.summary(f, DEC_1 + dt.timedelta(minutes=1))
    assert figures_of(report) == from_the_facts(f)
    services = {row["key"]: row for row in report["by_service"]}
    assert services["INFO"]["arrived"] == 1  # ended at INFO now
    assert kept(dt.date(2026, 11, 30)).tallies is not None  # kept again


def test_days_voided_apart_are_made_again_together(db):
    morning()
    f = kabupaten()
    reports.summary(f, DEC_1)
    visits.touch_days({dt.date(2026, 11, 10), dt.date(2026, 11, 30)}, dt.date(2026, 12, 1))
    report = reports.summary(f, DEC_1, refresh=False)
    assert figures_of(report) == from_the_facts(f) and report["arrived"] == 3
    assert VisitDay.select().where(VisitDay.tallies.is_null()).count() == 0


def test_a_report_does_not_keep_what_it_read_before_a_late_write(db):
    morning()
    f = kabupaten(dt.date(2026, 11, 30), dt.date(2026, 11, 30))
    made = reports._kept_days(f, DEC_1)  # read: no row for the day yet
    visits.touch_days({dt.date(2026, 11, 30)}, dt.date(2026, 12, 1))  # a late fact lands
    reports._keep(made, DEC_1)
    assert kept(dt.date(2026, 11, 30)).tallies is None  # not overwritten
    made = reports._kept_days(f, DEC_1)  # read version 1
    visits.touch_days({dt.date(2026, 11, 30)}, dt.date(2026, 12, 1))  # -> 2
    reports._keep(made, DEC_1)
    assert kept(dt.date(2026, 11, 30)).tallies is None


def test_today_and_the_minutes_after_midnight_are_never_kept(db):
    morning()
    reports.summary(kabupaten(), at(30, 9, 5))
    assert kept(dt.date(2026, 11, 30)) is None and kept(dt.date(2026, 11, 29)) is not None
    just_after = dt.datetime(2026, 12, 1, 0, 2, tzinfo=at(30, 9).tzinfo)  # within LAG
    reports.summary(kabupaten(), just_after)
    assert kept(dt.date(2026, 11, 30)) is None
    # Facts of today touch nothing kept.
    visits.touch_days({dt.date(2026, 11, 30)}, dt.date(2026, 11, 30))
    assert kept(dt.date(2026, 11, 30)) is None


def test_a_filtered_report_reads_the_facts(db):
    morning()
    f = reports.scope(User.get(User.username == "admin"), *NOVEMBER, site_code="tabang")
    assert reports.summary(f, DEC_1)["arrived"] == 3
    # Folded on 1 December, the morning's facts voided 30 November (nothing kept yet).
    assert [(d.day, d.tallies) for d in VisitDay.select()] == [(dt.date(2026, 11, 30), None)]


@pytest.fixture
def tabangs_box():
    link_rows.configure("site", ["tabang"])
    yield
    link_rows.configure("all-in-one")


def test_a_halls_late_facts_at_the_centre_void_their_day(db, tabangs_box):
    morning()
    visits.refresh(at(30, 9, 5))
    facts = _sent()[0]["data"]["facts"]
    VisitFact.delete().execute()  # the centre's copy: nothing of Tabang's yet
    VisitDay.create(day=dt.date(2026, 11, 30), version=0, tallies="{}")  # kept, wrongly
    tabang = Site.get(Site.code == "tabang")
    forwarding.receive_batch(tabang, [_wire_batch("tabang", facts, at(30, 9, 5))], DEC_1,
                             "/nonexistent", 1000)
    assert (kept(dt.date(2026, 11, 30)).version, kept(dt.date(2026, 11, 30)).tallies) == (
        1, None)
    assert reports.summary(kabupaten(), DEC_1, refresh=False)["arrived"] == 3
