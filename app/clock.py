"""The app's one clock. Domain functions take `now`; views ask this clock for it.

MPP_CLOCK_START lets a demo or a black-box test run "inside opening hours": the clock
starts at that instant when the process starts and runs on in real time.
"""
import datetime as dt
import os
import time
from zoneinfo import ZoneInfo

UTC = dt.timezone.utc
WITA = ZoneInfo("Asia/Makassar")


ANCHOR_VARIABLE = "MPP_CLOCK_ANCHOR"


class Clock:
    """`start_iso` is the instant the clock shows at `anchor` (epoch seconds; default:
    now). Every worker of one server must share the anchor, or each would start its
    own clock when it boots and two workers would disagree on which call came first:
    gunicorn.conf.py sets MPP_CLOCK_ANCHOR once in the master, before the fork."""

    def __init__(self, start_iso: str = "", anchor: float | None = None):
        self._offset = 0.0
        if start_iso:
            start = dt.datetime.fromisoformat(start_iso)
            if start.tzinfo is None:
                start = start.replace(tzinfo=WITA)
            self._offset = start.timestamp() - (time.time() if anchor is None else anchor)

    @classmethod
    def from_environment(cls, start_iso: str) -> "Clock":
        anchor = os.environ.get(ANCHOR_VARIABLE)
        try:
            return cls(start_iso, float(anchor) if anchor else None)
        except ValueError:
            return cls(start_iso)

    def now(self) -> dt.datetime:
        """Aware UTC datetime."""
        return dt.datetime.fromtimestamp(time.time() + self._offset, UTC)


def to_local(moment: dt.datetime) -> dt.datetime:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(WITA)


def local_day(moment: dt.datetime) -> dt.date:
    return to_local(moment).date()


def as_utc_naive(moment: dt.datetime) -> dt.datetime:
    """Storage form: naive UTC (portable across SQLite and PostgreSQL)."""
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(UTC).replace(tzinfo=None)


def iso(moment):
    """ISO 8601 in WITA with offset, or None."""
    if moment is None:
        return None
    return to_local(moment).isoformat(timespec="seconds")
