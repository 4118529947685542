"""The audit trail: every change by an admin or supervisor and every operator action on a
ticket or a case is one `AuditEntry`, written by the domain verb inside the transaction
of the change itself, so an entry exists if and only if the change committed.

`Actor` says who acted (the view builds it from the signed-in user and the client
address); `record` writes the entry with personal data masked; nothing here updates or
deletes an entry (the database refuses it too: triggers from migration 0500).
"""
import datetime as dt
from dataclasses import dataclass

import peewee as pw

from ..clock import WITA, as_utc_naive
from ..db import Param, prepared
from ..models import AuditEntry, User
from . import catalogue_cache, seed
from .contact import mask_phone
from .nik import mask_nik

# Keys whose values never reach the trail in clear.
SECRET_KEYS = {"password", "password_hash", "one_time_password", "token", "nik_hash"}
NIK_KEYS = {"nik", "applicant_nik"}
PHONE_KEYS = {"phone", "applicant_phone"}
EMAIL_KEYS = {"email"}


@dataclass(frozen=True)
class Actor:
    username: str
    role: str = ""
    site_code: str = ""  # the actor's own hall, "" for admins and officers
    client: str = ""

    @classmethod
    def of(cls, user: User, client: str = "") -> "Actor":
        site = None
        if user.site_id:  # the hall's code from the catalogue cache, not a query
            site = user.__rel__.get("site") or catalogue_cache.current().site_by_id(
                user.site_id) or user.site
        return cls(user.username, user.role, site.code if site else "",
                   (client or "")[:100])


SYSTEM = Actor("system", "system")


def masked(values: dict | None) -> dict | None:
    """A copy fit for the trail: secrets dropped, NIK, phone and e-mail masked."""
    if values is None:
        return None
    out = {}
    for key, value in values.items():
        if key in SECRET_KEYS:
            continue
        if key in NIK_KEYS and value:
            value = mask_nik(value)
        elif key in PHONE_KEYS and value:
            value = mask_phone(value)
        elif key in EMAIL_KEYS and value:
            name, _, domain = str(value).partition("@")
            value = f"{name[:1]}***@{domain}"
        out[key] = value
    return out


def changed(before: dict, after: dict) -> tuple[dict, dict]:
    """Only what differs, so an entry reads as the change it was."""
    keys = [k for k in after if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in keys}, {k: after[k] for k in keys}


def record(actor: Actor | str, action: str, obj: str, now: dt.datetime,
           site_code: str = "", before: dict | None = None,
           after: dict | None = None) -> AuditEntry | None:
    """One entry, inside the caller's write transaction. `actor` may be a bare username
    (API callers that predate Actor); `site_code` is the hall the change concerns."""
    if seed.active():
        return None
    if isinstance(actor, str):
        actor = Actor(actor)
    values = dict(
        at=as_utc_naive(now), actor=actor.username[:80], role=actor.role[:12],
        site_code=(site_code or "")[:40], action=action[:60], object=(obj or "")[:120],
        before=masked(before), after=masked(after), client=actor.client[:100])
    entry = AuditEntry(**values)
    entry.id = _INSERT_ENTRY.insert(**values)
    entry._dirty.clear()
    return entry


# Every staff action writes one: prepared, rendered to SQL once (app/db.py).
_INSERT_ENTRY = prepared(lambda: AuditEntry.insert({
    field: Param(field.name, field) for field in AuditEntry._meta.sorted_fields
    if not isinstance(field, pw.AutoField)}))


def entries(site_code: str = "", actor: str = "", action: str = "",
            day_from: dt.date | None = None, day_to: dt.date | None = None,
            limit: int = 500) -> list[AuditEntry]:
    """The newest entries matching every filter given (days in WITA, inclusive)."""
    query = AuditEntry.select()
    if site_code:
        query = query.where(AuditEntry.site_code == site_code)
    if actor:
        query = query.where(AuditEntry.actor == actor)
    if action:
        query = query.where(AuditEntry.action.startswith(action))
    if day_from:
        start = dt.datetime.combine(day_from, dt.time(0), WITA)
        query = query.where(AuditEntry.at >= as_utc_naive(start))
    if day_to:
        end = dt.datetime.combine(day_to + dt.timedelta(days=1), dt.time(0), WITA)
        query = query.where(AuditEntry.at < as_utc_naive(end))
    return list(query.order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(limit))
