"""Live events (calls, counter changes, waiting counts) published after the
transaction that caused them commits.

One plug-in point: `boards` installs its publisher (which fans events out in-process or
through Redis); until then events go nowhere. Domain code only calls
`publish_after_commit`.
"""
import logging

from .db import database

log = logging.getLogger(__name__)


class NullPublisher:
    def publish(self, site_code: str, event: dict) -> None:
        pass


_publisher = NullPublisher()


def install(publisher) -> None:
    global _publisher
    _publisher = publisher


def publisher():
    return _publisher


def _deliver(site_code, event):
    try:
        _publisher.publish(site_code, event)
    except Exception:  # a broken broker must not undo a committed call
        log.exception("could not publish %s event for %s", event.get("type"), site_code)


def publish_after_commit(site_code: str, event: dict) -> None:
    database.after_commit(lambda: _deliver(site_code, event))
