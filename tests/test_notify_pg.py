"""The notification sender on PostgreSQL (the centre): several sender threads claim
batches at once (SKIP LOCKED leases); every message reaches the gateway exactly once."""
import datetime as dt
import threading

import pytest

from app import notify as sender
from app.db import database
from app.models import Notification, Site

from .conftest import MONDAY_9
from .fake_gateway import FakeGateway

pytestmark = [pytest.mark.postgres]


def in_threads(pg_app, count: int, work) -> list:
    """`work()` in `count` threads at once, each in the app's context on its own
    connection; the exceptions they raised (a thread must not hide one)."""
    errors = []

    def run():
        try:
            with pg_app.app_context():
                database.connect(reuse_if_open=True)
                work()
                database.close()
        except Exception as exc:  # reported to the caller
            errors.append(exc)
    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return errors


def test_three_senders_send_each_message_once(pg_app):
    site = Site.get(Site.code == "tabang")
    due = dt.datetime(2026, 11, 30, 0, 0)
    Notification.insert_many([
        {"key": f"t:{n}", "site": site.id, "purpose": "case", "kind": "case_ready",
         "ref": f"KK-{n}", "phone": f"+6281200{n:06d}", "body": f"pesan {n}",
         "owner": "centre", "status": "pending", "created_at": due, "next_attempt_at": due}
        for n in range(120)]).execute()
    with FakeGateway() as gateway:
        gateway.delay = 0.002

        def send():
            channel = sender.HttpGateway("whatsapp", gateway.url, "", timeout=5)
            while sender.send_due([channel], MONDAY_9, limit=10)["sent"]:
                pass
        errors = in_threads(pg_app, 3, send)
    assert errors == []
    keys = [r["headers"]["Idempotency-Key"] for r in gateway.requests]
    assert len(keys) == len(set(keys)) == 120  # no message asked twice, none missed
    assert Notification.select().where(Notification.status == "sent").count() == 120


def test_the_daily_limit_holds_when_workers_claim_at_once(pg_app):
    """Eight senders claim one message each at the same moment, all to one number with a
    limit of two a day: on PostgreSQL each could count the number's day before the
    others committed and all send; the number's lock makes them count in turn."""
    from app.domain import notify
    site = Site.get(Site.code == "tabang")
    due = dt.datetime(2026, 11, 30, 0, 0)
    limit_before = notify.CONFIG["daily_limit"]
    notify.CONFIG["daily_limit"] = 2
    try:
        for round_ in range(3):
            Notification.delete().execute()
            Notification.insert_many([
                {"key": f"r{round_}:{n}", "site": site.id, "purpose": "case",
                 "kind": "case_ready", "ref": f"KK-{n}", "phone": "+6281234567890",
                 "body": f"pesan {n}", "owner": "centre", "status": "pending",
                 "created_at": due, "next_attempt_at": due} for n in range(8)]).execute()
            start = threading.Barrier(8)
            taken = []

            def claim():
                start.wait()
                taken.extend(notify.claim_batch("centre", MONDAY_9, limit=1))
            errors = in_threads(pg_app, 8, claim)
            assert errors == []
            assert len(taken) <= 2, f"round {round_}: {len(taken)} claimed for one number"
    finally:
        notify.CONFIG["daily_limit"] = limit_before
