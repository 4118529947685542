"""The centre's dashboard, domain side: a hall's figures from its own tickets or from the
pulse its box reports, the link's ok/stale/down boundaries, and "silent" only while a
hall is open."""
import datetime as dt

import pytest

from app.clock import as_utc_naive
from app.domain import (
    audit,
    catalogue,
    catalogue_feed,
    dashboard,
    forwarding,
    link_rows,
    queueing,
    survey,
    visits,
)
from app.models import HallState, Site

from .conftest import MONDAY_9, at


def site(code):
    return Site.get(Site.code == code)


def by_code(rows):
    return {row["site"]: row for row in rows}


def pulse(code, now, day="2026-11-30", **values):
    figures = {"waiting": 4, "longest": 25 * 60 + 30, "served": 17, "pending": 3,
               "until": int((now - dt.timedelta(minutes=1)).timestamp()), "day": day}
    figures.update(values)
    visits.record_pulse(site(code), {k: str(v) for k, v in figures.items()}, now)


@pytest.fixture
def centre():
    link_rows.configure("central")
    yield
    link_rows.configure("all-in-one")


@pytest.fixture
def hall_box():
    link_rows.configure("site", ["tabang"])
    yield
    link_rows.configure("all-in-one")


def test_all_in_one_every_hall_from_its_tickets(db):
    tabang = site("tabang")
    ktp = queueing.get_service("ADM-KTP")
    first = queueing.issue_ticket(tabang, ktp, at(30, 8, 0))
    queueing.issue_ticket(tabang, ktp, at(30, 8, 30))
    queueing.call_next(queueing.get_counter(tabang, "L1"), at(30, 8, 40), "operator.tabang")
    queueing.finish(first.id, "completed", at(30, 8, 50), "operator.tabang")

    rows = dashboard.halls(MONDAY_9)
    assert len(rows) == 21 and rows[0]["site"] == "induk"
    row = by_code(rows)["tabang"]
    assert (row["open"], row["waiting"], row["served_today"]) == (True, 1, 1)
    assert (row["longest_wait_seconds"], row["longest_wait_minutes"]) == (30 * 60, 30)
    assert row["local"] and row["link"] == "ok" and not row["silent"] and row["direct"]
    assert row["figures_today"]
    assert row["last_contact_at"] == row["data_until"] == as_utc_naive(MONDAY_9)
    assert row["pending_messages"] == 0
    assert row["catalogue_version"] == catalogue_feed.current_version()["version"]
    assert (row["ikm"], row["grade"], row["ikm_responses"]) == (None, None, 0)
    assert all(r["open"] and r["link"] == "ok" for r in rows)
    assert dashboard.totals(rows) == {"halls": 21, "open": 21, "waiting": 1,
                                      "served_today": 1, "attention": 0}


def test_an_inactive_hall_is_not_on_the_dashboard(db):
    Site.update(active=False).where(Site.code == "tabang").execute()
    assert "tabang" not in by_code(dashboard.halls(MONDAY_9))


def test_at_the_centre_a_hall_reports_through_its_pulse(db, centre):
    pulse("tabang", at(30, 9, 0))
    rows = by_code(dashboard.halls(at(30, 9, 1)))
    row = rows["tabang"]
    assert not row["local"] and not row["direct"] and row["figures_today"]
    assert (row["waiting"], row["longest_wait_seconds"], row["longest_wait_minutes"],
            row["served_today"], row["pending_messages"]) == (4, 1530, 25, 17, 3)
    assert row["last_contact_at"] == as_utc_naive(at(30, 9, 0))
    assert row["data_until"] == as_utc_naive(at(30, 8, 59))
    assert row["link"] == "ok" and row["open"] and not row["silent"]
    # The centre's own hall is counted from its own tickets, here.
    assert rows["induk"]["local"] and rows["induk"]["link"] == "ok"
    # A hall whose box never called: nothing known, and it is open.
    quiet = rows["muara-badak"]
    assert (quiet["last_contact_at"], quiet["data_until"], quiet["pending_messages"],
            quiet["catalogue_version"]) == (None, None, None, None)
    assert quiet["link"] == "down" and quiet["silent"] and quiet["waiting"] == 0
    assert not quiet["figures_today"]
    assert dashboard.totals(list(rows.values()))["attention"] == 19


def test_the_link_boundaries(db, centre):
    pulse("tabang", at(30, 9, 0))

    def state(now):
        return dashboard.hall(site("tabang"), now)

    two = at(30, 9, 2)
    assert state(two)["link"] == "ok"
    assert state(two + dt.timedelta(seconds=1))["link"] == "stale"
    assert state(at(30, 9, 15))["link"] == "stale" and not state(at(30, 9, 15))["silent"]
    later = state(at(30, 9, 15) + dt.timedelta(seconds=1))
    assert later["link"] == "down" and later["silent"]
    assert dashboard.link_state(None, MONDAY_9) == "down"


def test_silent_only_while_the_hall_is_open(db, centre):
    pulse("tabang", at(27, 10, 0))  # Friday morning, then nothing
    tabang = site("tabang")
    for moment, opened in [(at(30, 20, 0), False),   # Monday evening
                           (at(29, 10, 0), False),   # Sunday
                           (at(27, 11, 45), False),  # Friday after 11:30
                           (at(30, 14, 59), True)]:  # Monday, open until 15:00
        row = dashboard.hall(tabang, moment)
        assert row["link"] == "down" and (row["open"], row["silent"]) == (opened, opened)


def test_a_pulse_of_another_day_says_nothing_about_today(db, centre):
    pulse("tabang", at(27, 14, 0), day="2026-11-27")
    row = dashboard.hall(site("tabang"), MONDAY_9)
    assert (row["waiting"], row["longest_wait_seconds"], row["served_today"]) == (0, 0, 0)
    assert not row["figures_today"]
    assert row["pending_messages"] == 3 and row["silent"]
    assert dashboard.moment_text(row["last_contact_at"], MONDAY_9) == "27 Nov 14.00 WITA"


def test_a_closure_the_hall_decided_itself_keeps_it_from_being_silent(db, centre):
    HallState.create(site=site("tabang"), taken_at=as_utc_naive(at(27, 9, 0)),
                     received_at=as_utc_naive(at(27, 9, 0)),
                     state={"closures": [{"day": "2026-11-30", "reason": "Listrik padam",
                                          "services": None, "batch": "x"}]})
    row = dashboard.hall(site("tabang"), MONDAY_9)
    assert row["link"] == "down" and not row["open"] and not row["silent"]
    assert dashboard.hall(site("tenggarong-seberang"), MONDAY_9)["silent"]


def test_a_closure_of_the_centre_closes_the_hall(db, centre):
    catalogue.create_closure(audit.SYSTEM, at(27, 9, 0), site("tabang"), "2026-11-30", None,
                             "Banjir")
    row = dashboard.hall(site("tabang"), MONDAY_9)
    assert not row["open"] and not row["silent"]


def test_at_a_halls_box_the_link_is_its_exchange_with_the_centre(db, hall_box):
    tabang = site("tabang")
    assert [r["site"] for r in dashboard.halls(MONDAY_9)] == ["tabang"]
    row = dashboard.hall(tabang, MONDAY_9)
    assert (row["last_contact_at"], row["link"], row["silent"]) == (None, "down", True)
    assert row["local"] and not row["direct"] and row["figures_today"]
    forwarding.record_success(tabang.id, at(30, 8, 58))
    link_rows.outbox(tabang.id, "tabang", "hall.state", "hall:tabang", {},
                     as_utc_naive(at(30, 8, 55)))
    row = dashboard.hall(tabang, MONDAY_9)
    assert (row["link"], row["pending_messages"]) == ("ok", 1)
    assert row["last_contact_at"] == as_utc_naive(at(30, 8, 58))
    # The centre has everything from before the oldest message still waiting.
    assert row["data_until"] == as_utc_naive(at(30, 8, 55))


def test_ikm_of_the_year_so_far_follows_new_answers(db):
    tabang = site("tabang")
    ktp = queueing.get_service("ADM-KTP")
    survey.submit(tabang, ktp, [4] * 9, at(2, 10, 0))
    survey.submit(tabang, ktp, [3] * 9, at(30, 8, 30))
    survey.submit(tabang, ktp, [1] * 9, dt.datetime(2025, 12, 31, 10, tzinfo=MONDAY_9.tzinfo))
    row = dashboard.hall(tabang, MONDAY_9)
    assert (row["ikm"], row["grade"], row["ikm_responses"]) == (87.5, "B", 2)
    assert dashboard.ikm_period(MONDAY_9) == (dt.date(2026, 1, 1), dt.date(2026, 11, 30))
    survey.submit(tabang, ktp, [4] * 9, at(30, 8, 45))
    row = dashboard.hall(tabang, MONDAY_9)
    assert (row["ikm"], row["grade"], row["ikm_responses"]) == (91.67, "A", 3)


def test_words_for_a_moment():
    now = at(30, 10, 45)
    assert dashboard.ago(at(30, 10, 44) + dt.timedelta(seconds=30), now) == "baru saja"
    assert dashboard.ago(at(30, 10, 42), now) == "3 menit lalu"
    assert dashboard.ago(at(30, 8, 40), now) == "2 jam lalu"
    assert dashboard.ago(at(29, 15, 2), now) == "kemarin 15.02"
    assert dashboard.ago(at(28, 15, 2), now) == "28 Nov 15.02"
    assert dashboard.ago(at(28, 15, 2, year=2025), now) == "28 Nov 2025 15.02"
    assert dashboard.ago(at(30, 10, 50), now) == "baru saja"  # a clock ahead of ours
    assert dashboard.moment_text(as_utc_naive(at(30, 10, 42)), now) == \
        "10.42 WITA, 3 menit lalu"
    assert dashboard.moment_text(at(29, 15, 2), now) == "kemarin 15.02 WITA"
