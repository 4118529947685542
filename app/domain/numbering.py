"""Ticket numbers: one sequence per (site, prefix, local WITA day), A001, A002, ...

The increment is a single upsert on the sequence row, inside the caller's write
transaction: on SQLite that transaction is BEGIN IMMEDIATE, on PostgreSQL the upsert
locks the row until commit. A failed issue rolls the increment back, so no gaps.
"""
import datetime as dt
import sqlite3

import peewee as pw

from ..db import Param, is_sqlite, prepared, write_transaction
from ..models import NumberSequence, Site


def format_number(prefix: str, seq: int) -> str:
    return f"{prefix}{seq:03d}"  # four digits past 999


def take_next(site: Site, prefix: str, day: dt.date) -> int:
    if _returning_supported():  # one prepared round trip
        return _UPSERT_RETURNING.scalar(site=site, prefix=prefix, day=day)
    _UPSERT.execute(site=site, prefix=prefix, day=day)
    return (NumberSequence
            .select(NumberSequence.last)
            .where((NumberSequence.site == site) & (NumberSequence.prefix == prefix)
                   & (NumberSequence.day == day))
            .scalar())


def _upsert():
    return (NumberSequence
            .insert(site=Param("site", NumberSequence.site),
                    prefix=Param("prefix", NumberSequence.prefix),
                    day=Param("day", NumberSequence.day), last=1)
            .on_conflict(conflict_target=[NumberSequence.site, NumberSequence.prefix,
                                          NumberSequence.day],
                         update={NumberSequence.last: NumberSequence.last + 1}))


_UPSERT_RETURNING = prepared(lambda: _upsert().returning(NumberSequence.last))
_UPSERT = prepared(_upsert)


def _returning_supported() -> bool:
    """PostgreSQL always; SQLite from 3.35 (Debian 12 ships 3.40)."""
    return not is_sqlite() or sqlite3.sqlite_version_info >= (3, 35, 0)


def skip_ahead(day: dt.date, at_least: int) -> int:
    """After a restore from a copy made on `day`, every sequence of that day jumps past
    the numbers given out after the copy (lost with the box, yet held by citizens and
    already at the centre): by as many as it had given before the copy, and by at least
    `at_least`. A001..A150 in the copy goes on at A301. One transaction; returns the
    sequences moved."""
    jump = pw.Case(None, [(NumberSequence.last > at_least, NumberSequence.last)], at_least)
    with write_transaction():
        return (NumberSequence.update(last=NumberSequence.last + jump)
                .where(NumberSequence.day == day).execute())
