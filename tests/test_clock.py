"""The app clock: MPP_CLOCK_START counts from one anchor shared by every worker."""
import datetime as dt
import time

from app.clock import WITA, Clock


def test_clock_counts_from_the_shared_anchor_not_from_its_own_creation():
    an_hour_ago = time.time() - 3600
    clock = Clock("2026-11-30T09:00:00+08:00", anchor=an_hour_ago)
    assert clock.now() >= dt.datetime(2026, 11, 30, 10, 0, tzinfo=WITA)
    assert clock.now() < dt.datetime(2026, 11, 30, 11, 0, tzinfo=WITA)


def test_workers_built_at_different_times_agree(monkeypatch):
    monkeypatch.setenv("MPP_CLOCK_ANCHOR", str(time.time() - 5))
    first = Clock.from_environment("2026-11-30T09:00:00+08:00")
    time.sleep(0.01)
    second = Clock.from_environment("2026-11-30T09:00:00+08:00")
    # the later-built clock is not behind: both count from the anchor
    a, b = first.now(), second.now()
    assert b >= a >= dt.datetime(2026, 11, 30, 9, 0, 5, tzinfo=WITA)


def test_without_a_start_the_clock_is_real_time():
    assert abs(Clock().now().timestamp() - time.time()) < 60
