"""The rows that travel the link between a hall and the centre, and which side of the
link this node is.

- Up: `outbox` writes a `ForwardingMessage` in the caller's transaction (a case opened,
  a check-in, a hall's own state); the hall's sender sends it and the centre's receivers
  (`forwarding.register_message_kind`) store it exactly once.
- Down: `feed` / `feed_many` write the centre's per-hall feed rows (`CaseUpdate`), in
  commit order; the hall pulls them and applies each kind
  (`forwarding.register_update_kind`).
- `role()`: `all-in-one`, `site` or `central`, set once at start-up by `configure`.
"""
import datetime as dt
import json
import uuid

import peewee as pw

from ..db import database, lock_or_create
from ..models import CaseUpdate, FeedCounter, ForwardingMessage

ROLE = {"name": "all-in-one", "sites": ()}
# Called after a transaction that wrote outbox messages commits (the sender's wake-up).
OUTBOX_LISTENERS = []


def configure(role: str, sites=()) -> None:
    """This node's role and, on a hall's box, the codes of the halls it serves."""
    ROLE["name"] = role
    ROLE["sites"] = tuple(sites)


def serves(site_code: str) -> bool:
    """Whether this node speaks for the hall (a hall's box only for its own halls)."""
    return not ROLE["sites"] or site_code in ROLE["sites"]


def role() -> str:
    return ROLE["name"]


def new_uid() -> str:
    return uuid.uuid4().hex


def canonical(data) -> str:
    return json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def outbox(site_id: int, site_code: str, kind: str, key: str, data: dict,
           naive: dt.datetime) -> ForwardingMessage:
    """A message up to the centre, in the caller's transaction. `key` names what it is
    about (a tracking code, a booking code, the hall): messages of one key go in the
    order they were written."""
    message_id = new_uid()
    for listener in OUTBOX_LISTENERS:
        database.after_commit(listener)
    body = canonical({"id": message_id, "kind": kind, "site": site_code,
                      "tracking_code": key, "data": data})
    return ForwardingMessage.create(message_id=message_id, site=site_id, kind=kind,
                                   tracking_code=key[:20], body=body, created_at=naive)


def feed(site_id: int, kind: str, body: dict, naive: dt.datetime) -> CaseUpdate:
    """A row the hall will pull. The per-hall counter row is locked until commit, so a
    hall's feed sequence is also its commit order: a cursor never skips a row."""
    counter = lock_or_create(FeedCounter.select().where(FeedCounter.site == site_id),
                             lambda: FeedCounter.create(site=site_id, last_seq=0))
    seq = counter.last_seq + 1
    FeedCounter.update(last_seq=seq).where(FeedCounter.id == counter.id).execute()
    return CaseUpdate.create(site=site_id, seq=seq, kind=kind, body=body, created_at=naive)


def feed_many(site_id: int, kind: str, bodies: list[dict], naive: dt.datetime) -> None:
    """feed() for many rows of one hall, under one lock of its counter."""
    if not bodies:
        return
    first = feed(site_id, kind, bodies[0], naive).seq
    rows = [{"site": site_id, "seq": first + n, "kind": kind, "body": body,
             "created_at": naive} for n, body in enumerate(bodies[1:], 1)]
    for chunk in pw.chunked(rows, 100):
        CaseUpdate.insert_many(chunk).execute()
    if rows:
        FeedCounter.update(last_seq=first + len(rows)).where(
            FeedCounter.site == site_id).execute()
