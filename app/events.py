"""Live events (calls, counter changes, waiting counts) published after the
transaction that caused them commits.

One interface, swappable transports: `boards/` installs the hub (in-process or Redis);
until then events go nowhere. Domain code only calls `publish_after_commit`.
"""
import logging

from .db import database

log = logging.getLogger(__name__)


class NullTransport:
    def publish(self, site_code: str, event: dict) -> None:
        pass


_transport = NullTransport()


def install(transport) -> None:
    global _transport
    _transport = transport


def transport():
    return _transport


def _deliver(site_code, event):
    try:
        _transport.publish(site_code, event)
    except Exception:  # a broken broker must not undo a committed call
        log.exception("could not publish %s event for %s", event.get("type"), site_code)


def publish_after_commit(site_code: str, event: dict) -> None:
    database.after_commit(lambda: _deliver(site_code, event))
