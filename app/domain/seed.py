"""Seed data (the demo catalogue) goes through the same domain verbs as the admin pages,
so it obeys the same rules. But loading it is not a change anyone made: while
`seeding()` runs, no audit entry is written, no catalogue version is raised and nothing
is reported to the centre."""
import contextvars
from contextlib import contextmanager

_SEEDING = contextvars.ContextVar("seeding", default=False)


@contextmanager
def seeding():
    token = _SEEDING.set(True)
    try:
        yield
    finally:
        _SEEDING.reset(token)


def active() -> bool:
    return _SEEDING.get()
