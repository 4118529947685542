"""Forwarding between a hall and the centre, without HTTP: what the sender takes from the
outbox, how the centre stores a batch exactly once, the feed the hall pulls, and how the
hall applies it. The transport (signed HTTP, or a call inside one process) is in
app/centre_link.py.

Exactly once: each message has a random id. The centre stores the id with the SHA-256 of
the message's body in the same transaction as the message's effect; a message seen
again with the same body is acknowledged as a duplicate and changes nothing; the same id
with another body is refused. The hall marks a message delivered only after the
acknowledgement, so a lost acknowledgement means a re-send, which is a duplicate.

No skipped rows: the sender re-scans the undelivered rows of its outbox on every pass
(oldest first) instead of keeping a cursor, so a row that commits after a later one is
sent on the next pass. Downwards, the centre's feed sequence is assigned under a lock
held until commit (link_rows.feed), so the hall's cursor cannot pass an uncommitted row.
"""
import base64
import datetime as dt
import hashlib
import json
import logging
import re

import peewee as pw

from ..clock import as_utc_naive
from ..db import database, write_transaction
from ..errors import DomainError, Invalid
from ..models import (
    Case,
    CaseEvent,
    CaseUpdate,
    ForwardingMessage,
    InboxMessage,
    Service,
    Site,
    SyncKey,
    SyncNonce,
    SyncState,
)
from . import attachments, cases, link_rows, notify
from . import nik as nik_rules

log = logging.getLogger("mpp.sync")
MAX_MESSAGES = 1000


class Refused(DomainError):
    """A message the centre will never accept: the hall stops re-sending it."""
    status = 422
    code = "refused"


# --- the hall: outbox ----------------------------------------------------------------

def pending(site_id: int, limit: int) -> list[ForwardingMessage]:
    waiting = ((ForwardingMessage.site == site_id) & ForwardingMessage.delivered_at.is_null()
               & (ForwardingMessage.refused == False))  # noqa: E712
    return list(ForwardingMessage.select().where(waiting)
                .order_by(ForwardingMessage.id).limit(limit))


def sites_with_pending() -> list[int]:
    rows = (ForwardingMessage.select(ForwardingMessage.site).distinct()
            .where(ForwardingMessage.delivered_at.is_null()
                   & (ForwardingMessage.refused == False)).tuples())  # noqa: E712
    return sorted(site_id for (site_id,) in rows)


def wire_message(row: ForwardingMessage, store_dir) -> dict:
    """The message as sent: its stored body, and an attachment's bytes beside it."""
    message = {"body": row.body}
    if row.kind == "case.attachment":
        data = json.loads(row.body)["data"]
        path = attachments.stored_path(store_dir, _stored_name(data))
        message["content"] = base64.b64encode(path.read_bytes()).decode()
    return message


def _stored_name(meta: dict) -> str:
    return f"{meta['uid']}.{attachments.KINDS[meta['content_type']]}"


def _state(site_id: int) -> SyncState:
    state = SyncState.get_or_none(SyncState.site == site_id)
    if state is None:
        try:
            with database.atomic():
                state = SyncState.create(site=site_id)
        except pw.IntegrityError:
            state = SyncState.get(SyncState.site == site_id)
    return state


def record_results(site_id: int, results: list[dict], now: dt.datetime) -> dict:
    """Mark acknowledged messages delivered (stored or duplicate) or refused for good."""
    naive = as_utc_naive(now)
    delivered = [r["id"] for r in results if r.get("status") in ("stored", "duplicate")]
    refused = [r for r in results if r.get("status") == "refused"]
    with write_transaction():
        for start in range(0, len(delivered), 500):
            (ForwardingMessage.update(delivered_at=naive, attempts=ForwardingMessage.attempts + 1)
             .where((ForwardingMessage.site == site_id)
                    & (ForwardingMessage.message_id.in_(delivered[start:start + 500])))
             .execute())
        for r in refused:
            (ForwardingMessage.update(refused=True, attempts=ForwardingMessage.attempts + 1,
                                  last_error=f"{r.get('code')}: {r.get('message', '')}"[:500])
             .where((ForwardingMessage.site == site_id)
                    & (ForwardingMessage.message_id == r["id"])).execute())
        _state(site_id)
        fields = {SyncState.last_success_at: naive, SyncState.failures: 0,
                  SyncState.next_attempt_at: None}
        if refused:
            fields[SyncState.last_error] = (f"{len(refused)} pesan ditolak pusat: "
                                            f"{refused[0].get('code')}")[:500]
            fields[SyncState.last_error_at] = naive
        SyncState.update(fields).where(SyncState.site == site_id).execute()
    return {"delivered": len(delivered), "refused": len(refused)}


def record_failure(site_id: int, error: str, now: dt.datetime,
                   retry_at: dt.datetime | None = None) -> int:
    naive = as_utc_naive(now)
    with write_transaction():
        _state(site_id)
        (SyncState.update(last_error=error[:500], last_error_at=naive,
                          failures=SyncState.failures + 1,
                          next_attempt_at=as_utc_naive(retry_at) if retry_at else None)
         .where(SyncState.site == site_id).execute())
    return SyncState.get(SyncState.site == site_id).failures


def record_success(site_id: int, now: dt.datetime) -> None:
    with write_transaction():
        _state(site_id)
        (SyncState.update(last_success_at=as_utc_naive(now), failures=0, next_attempt_at=None)
         .where(SyncState.site == site_id).execute())


def take_lease(site_id: int, owner: str, real_now: dt.datetime, seconds: int = 20,
               owner_is_dead=None) -> bool:
    """One sender per hall at a time (workers each run a thread); real time, because
    processes' demo clocks may differ. Re-sending would be harmless, only wasteful.
    `owner_is_dead(owner)` lets a restarted process take over a dead one's lease now."""
    naive = as_utc_naive(real_now)
    with write_transaction():
        state = _state(site_id)
        free = (SyncState.lease_until.is_null() | (SyncState.lease_until < naive)
                | (SyncState.lease_owner == owner))
        if owner_is_dead and state.lease_owner and owner_is_dead(state.lease_owner):
            free = free | (SyncState.lease_owner == state.lease_owner)
        taken = (SyncState.update(lease_owner=owner,
                                  lease_until=naive + dt.timedelta(seconds=seconds))
                 .where((SyncState.site == site_id) & free)
                 .execute())
    return taken == 1


def link_status(site: Site, now: dt.datetime) -> dict:
    """The supervisor's view of the link."""
    state = SyncState.get_or_none(SyncState.site == site)
    waiting = (ForwardingMessage.select()
               .where((ForwardingMessage.site == site) & ForwardingMessage.delivered_at.is_null()
                      & (ForwardingMessage.refused == False)))  # noqa: E712
    oldest = waiting.order_by(ForwardingMessage.id).first()
    refused = (ForwardingMessage.select()
               .where((ForwardingMessage.site == site) & (ForwardingMessage.refused == True))  # noqa
               .count())
    naive = as_utc_naive(now)
    return {
        "site": site.code,
        "waiting": waiting.count(),
        "waiting_cases": waiting.where(ForwardingMessage.kind == "case.opened").count(),
        "oldest_waiting_at": oldest.created_at if oldest else None,
        "oldest_age_seconds": (int((naive - oldest.created_at).total_seconds())
                               if oldest else 0),
        "refused": refused,
        "last_success_at": state.last_success_at if state else None,
        "last_error": state.last_error if state else "",
        "last_error_at": state.last_error_at if state else None,
        "failures": state.failures if state else 0,
        "updates_cursor": state.updates_cursor if state else 0,
    }


# --- the hall: applying the centre's updates -----------------------------------------

def _apply_case_status(site: Site, body: dict, naive: dt.datetime) -> None:
    case = Case.get_or_none((Case.tracking_code == body.get("tracking_code"))
                            & (Case.site == site))
    event = body.get("event") or {}
    if case is None or not event.get("uid") or event.get("status") not in cases.STATUSES:
        log.warning("update for an unknown case or status skipped")
        return
    if CaseEvent.select().where(CaseEvent.uid == event["uid"]).exists():
        return
    at = dt.datetime.fromisoformat(event["at"])
    CaseEvent.create(uid=event["uid"], case=case, status=event["status"], at=at,
                     note=str(event.get("note", ""))[:1000],
                     missing=str(event.get("missing", ""))[:1000],
                     by=str(event.get("by", ""))[:80], place="central")
    # The centre is the authority on the status; its feed is in its commit order.
    # Except the end: once the citizen collected at the hall (picked_up, possibly still
    # on its way up), no earlier status from the centre takes that back.
    if case.status == "picked_up":
        return
    case.status = event["status"]
    case.missing = str(event.get("missing", ""))[:1000] if case.status == "needs_fix" else ""
    case.updated_at = max(case.updated_at, at)
    case.save(only=[Case.status, Case.missing, Case.updated_at])


# Kinds of update the centre sends down, and how a hall applies each. The appointments
# feature adds e.g. "appointment.booked" / "appointment.cancelled" here; a kind this
# hall does not know is skipped (and logged) so a newer centre never stalls an older hall.
UPDATE_KINDS = {"case.status": _apply_case_status}


def register_update_kind(kind: str, apply) -> None:
    UPDATE_KINDS[kind] = apply


def apply_updates(site: Site, updates: list[dict], cursor: int, now: dt.datetime) -> int:
    """Apply a page of the feed, in order, and move the cursor in the same transaction."""
    naive = as_utc_naive(now)
    with write_transaction():
        state = _state(site.id)
        if cursor <= state.updates_cursor:
            return 0
        fresh = [u for u in updates if isinstance(u, dict)
                 and isinstance(u.get("seq"), int) and u["seq"] > state.updates_cursor]
        i = 0
        while i < len(fresh):
            j = i
            while j < len(fresh) and fresh[j].get("kind") == "case.status":
                j += 1
            if j > i:
                _apply_case_statuses(site, [u.get("body") or {} for u in fresh[i:j]], naive)
                i = j
                continue
            handler = UPDATE_KINDS.get(fresh[i].get("kind"))
            if handler is None:
                log.warning("update kind %r not known here; skipped", fresh[i].get("kind"))
            else:
                handler(site, fresh[i].get("body") or {}, naive)
            i += 1
        (SyncState.update(updates_cursor=cursor, last_success_at=naive)
         .where(SyncState.site == site.id).execute())
    return len(fresh)


def _apply_case_statuses(site: Site, bodies: list[dict], naive: dt.datetime) -> None:
    """Many status updates at once (after an outage there are thousands): the same
    effect as _apply_case_status for each, in order, with a few statements."""
    codes = {str(b.get("tracking_code")) for b in bodies}
    case_ids = {}
    for chunk in pw.chunked(sorted(codes), 500):
        case_ids.update(Case.select(Case.tracking_code, Case.id)
                        .where((Case.site == site) & Case.tracking_code.in_(chunk)).tuples())
    uids = [str((b.get("event") or {}).get("uid")) for b in bodies]
    seen = set()
    for chunk in pw.chunked(uids, 500):
        seen.update(uid for (uid,) in CaseEvent.select(CaseEvent.uid)
                    .where(CaseEvent.uid.in_(chunk)).tuples())
    events, final = [], {}
    for body in bodies:
        event = body.get("event") or {}
        case_id = case_ids.get(str(body.get("tracking_code")))
        uid = event.get("uid")
        if case_id is None or not uid or event.get("status") not in cases.STATUSES:
            log.warning("update for an unknown case or status skipped")
            continue
        if uid in seen:
            continue
        seen.add(uid)
        missing = str(event.get("missing", ""))[:1000]
        events.append({"uid": uid, "case": case_id, "status": event["status"],
                       "at": dt.datetime.fromisoformat(event["at"]),
                       "note": str(event.get("note", ""))[:1000], "missing": missing,
                       "by": str(event.get("by", ""))[:80], "place": "central"})
        # The centre is the authority on the status; its feed is in its commit order.
        final[case_id] = (event["status"], missing if event["status"] == "needs_fix" else "")
    for chunk in pw.chunked(events, 100):
        CaseEvent.insert_many(chunk).execute()
    groups = {}
    for case_id, state in final.items():
        groups.setdefault(state, []).append(case_id)
    for (status, missing), ids in groups.items():
        for chunk in pw.chunked(ids, 500):
            (Case.update(status=status, missing=missing, updated_at=naive)
             .where(Case.id.in_(chunk) & (Case.status != "picked_up")).execute())


def updates_cursor(site_id: int) -> int:
    return _state(site_id).updates_cursor


# --- the centre: keys, nonces --------------------------------------------------------

def keys_from_setting(text: str) -> dict[str, str]:
    keys = {}
    for part in (text or "").split(","):
        site, sep, key = part.strip().partition(":")
        if sep and site and key:
            keys[site.strip()] = key.strip()
    return keys


def key_for(site_code: str, configured: dict[str, str]) -> str | None:
    if site_code in configured:
        return configured[site_code]
    row = (SyncKey.select(SyncKey.key).join(Site)
           .where((Site.code == site_code) & (SyncKey.revoked == False))  # noqa: E712
           .order_by(SyncKey.id.desc()).first())
    return row.key if row else None


def issue_key(site: Site, now: dt.datetime) -> str:
    import secrets
    key = secrets.token_urlsafe(32)
    with write_transaction():
        SyncKey.update(revoked=True).where(SyncKey.site == site).execute()
        SyncKey.create(site=site, key=key, created_at=as_utc_naive(now))
    return key


def remember_nonce(site_code: str, nonce: str, real_now: dt.datetime,
                   window: dt.timedelta) -> bool:
    """False when this nonce was already used by this hall inside the window."""
    naive = as_utc_naive(real_now)
    try:
        with write_transaction():
            SyncNonce.create(site_code=site_code, nonce=nonce, at=naive)
    except pw.IntegrityError:
        return False
    if int(hashlib.sha256(nonce.encode()).hexdigest()[:2], 16) < 4:  # ~1 in 64 requests
        with write_transaction():
            SyncNonce.delete().where(SyncNonce.at < naive - 2 * window).execute()
    return True


# --- the centre: receiving a batch ---------------------------------------------------

def receive_batch(site: Site, messages: list, now: dt.datetime, store_dir,
                  max_attachment_bytes: int) -> list[dict]:
    """Store a batch from `site` in order, in one transaction. A run of new cases is
    stored with a few multi-row statements (the backlog after an outage is mostly
    that); anything else, or a run with any doubt in it (an id or a code seen before),
    goes message by message, each in a savepoint. Each message gets a result: stored,
    duplicate, or refused (with a code)."""
    if not isinstance(messages, list) or len(messages) > MAX_MESSAGES:
        raise Invalid("Daftar pesan tidak valid.", code="invalid_batch")
    naive = as_utc_naive(now)
    results = []
    services = {}
    parsed = []
    for raw in messages:
        try:
            parsed.append(_parse(raw))
        except Refused:
            parsed.append(None)
    with write_transaction():
        i = 0
        while i < len(messages):
            j = i
            while j < len(messages) and parsed[j] and parsed[j][1]["kind"] in FAST_KINDS:
                j += 1
            if j - i > 1:
                fast = _receive_new_cases(site, parsed[i:j], naive, services)
                if fast is not None:
                    results.extend(fast)
                    i = j
                    continue
            for k in range(i, max(j, i + 1)):
                results.append(_receive_one(site, messages[k], naive, store_dir,
                                            max_attachment_bytes, services))
            i = max(j, i + 1)
    return results


class _Doubt(Exception):
    """Something in a run of new cases needs the careful path."""


def _receive_new_cases(site, items, naive, services) -> list[dict] | None:
    try:
        with database.atomic():
            return _store_new_cases(site, items, naive, services)
    except (_Doubt, pw.IntegrityError, KeyError, TypeError, ValueError, AttributeError):
        return None


# A run of these goes the fast way: new cases, and the notification each case's opening
# wrote beside it (notify.message), which would otherwise cut the run after every case.
FAST_KINDS = ("case.opened", "notify.message")


def _store_new_cases(site, items, naive, services) -> list[dict]:
    ids = [body["id"] for _text, body, _content in items]
    notes = [(text, body) for text, body, _content in items if body["kind"] != "case.opened"]
    items = [item for item in items if item[1]["kind"] == "case.opened"]
    codes, inbox, rows, histories = [], [], [], []
    for text, body in notes:
        if body.get("site") != site.code:
            raise _Doubt()
        inbox.append({"message_id": body["id"], "site": site.id, "kind": body["kind"],
                      "body_sha256": hashlib.sha256(text.encode()).hexdigest(),
                      "received_at": naive})
    for text, body, _content in items:
        data = body["data"]
        code = cases.normalise_code(data.get("tracking_code"))
        applicant = data.get("applicant") or {}
        if body.get("site") != site.code or code is None or code != body.get(
                "tracking_code") or not nik_rules.validate_nik(applicant.get("nik")).ok:
            raise _Doubt()
        service_code = data.get("service")
        if service_code not in services:
            services[service_code] = Service.get_or_none(Service.code == service_code)
        if services[service_code] is None:
            raise _Doubt()
        codes.append(code)
        inbox.append({"message_id": body["id"], "site": site.id, "kind": body["kind"],
                      "body_sha256": hashlib.sha256(text.encode()).hexdigest(),
                      "received_at": naive})
        rows.append({
            "tracking_code": code, "site": site.id, "service": services[service_code].id,
            "ticket_ref": str(data.get("ticket_ref") or "")[:32] or None,
            "applicant_name": str(applicant.get("name", ""))[:120],
            "applicant_nik": applicant["nik"],
            "applicant_phone": str(applicant.get("phone") or "")[:20],
            "requirements": data.get("requirements") or [],
            "notes": str(data.get("notes") or "")[:2000], "status": "forwarded",
            "missing": "", "received_at": dt.datetime.fromisoformat(data["received_at"]),
            "updated_at": naive, "opened_by": str(data.get("opened_by") or "")[:80]})
        histories.append([e for e in data.get("history") or []
                          if e.get("status") in cases.STATUSES])
    if len(set(ids)) != len(ids) or len(set(codes)) != len(codes):
        raise _Doubt()
    if InboxMessage.select().where(InboxMessage.message_id.in_(ids)).exists() or \
            Case.select().where(Case.tracking_code.in_(codes)).exists():
        raise _Doubt()
    for _text, body in notes:
        try:
            notify.receive_message(site, body, body["data"], None, naive, {})
        except DomainError:
            raise _Doubt() from None
    for chunk in pw.chunked(inbox, 100):
        InboxMessage.insert_many(chunk).execute()
    for chunk in pw.chunked(rows, 50):
        Case.insert_many(chunk).execute()
    case_ids = dict(Case.select(Case.tracking_code, Case.id)
                    .where(Case.tracking_code.in_(codes)).tuples())
    events, feed_bodies = [], []
    for code, history in zip(codes, histories):
        for e in history:
            events.append({"uid": e["uid"], "case": case_ids[code], "status": e["status"],
                           "at": dt.datetime.fromisoformat(e["at"]),
                           "note": str(e.get("note", ""))[:1000], "missing": "",
                           "by": str(e.get("by", ""))[:80], "place": "hall"})
        forwarded = {"uid": link_rows.new_uid(), "status": "forwarded", "at": naive.isoformat(),
                     "note": "Diterima MPP Induk", "missing": "", "by": "",
                     "place": "central"}
        events.append(dict(forwarded, case=case_ids[code], at=naive))
        feed_bodies.append({"tracking_code": code, "event": forwarded})
    for chunk in pw.chunked(events, 100):
        CaseEvent.insert_many(chunk).execute()
    if link_rows.role() == "central":
        link_rows.feed_many(site.id, "case.status", feed_bodies, naive)
    return [{"id": message_id, "status": "stored"} for message_id in ids]  # batch order


def _parse(raw) -> tuple[str, dict, bytes | None]:
    if not isinstance(raw, dict) or not isinstance(raw.get("body"), str):
        raise Refused("Pesan tidak valid.", code="invalid_message")
    try:
        body = json.loads(raw["body"])
    except ValueError:
        raise Refused("Isi pesan bukan JSON.", code="invalid_message") from None
    if not isinstance(body, dict) or not isinstance(body.get("data"), dict):
        raise Refused("Isi pesan tidak valid.", code="invalid_message")
    if not re.fullmatch(r"[0-9a-f]{32}", str(body.get("id", ""))):
        raise Refused("Id pesan tidak valid.", code="invalid_message")
    if body.get("kind") not in RECEIVERS:
        raise Refused("Jenis pesan tidak dikenal.", code="unknown_kind")
    content = None
    if raw.get("content") is not None:
        try:
            content = base64.b64decode(raw["content"], validate=True)
        except (ValueError, TypeError):
            raise Refused("Lampiran tidak dapat dibaca.", code="invalid_message") from None
    return raw["body"], body, content


def _claimed_id(raw) -> str:
    """The id a refused message claims, so the hall can settle that outbox row (a refusal
    is final: re-sending it forever would block everything queued behind it)."""
    if not isinstance(raw, dict):
        return ""
    try:
        body = json.loads(raw.get("body") or "")
    except (TypeError, ValueError, RecursionError):
        return ""
    claimed = body.get("id") if isinstance(body, dict) else None
    return claimed if isinstance(claimed, str) and re.fullmatch(r"[0-9a-f]{32}", claimed) else ""


def _receive_one(site, raw, naive, store_dir, max_bytes, services) -> dict:
    try:
        text, body, content = _parse(raw)
    except Refused as exc:
        log.warning("sync message from %s refused: %s", site.code, exc.code)
        return {"id": _claimed_id(raw), "status": "refused", "code": exc.code,
                "message": exc.message}
    message_id = body["id"]
    if body.get("site") != site.code:
        log.warning("sync message %s from %s refused: wrong_site", message_id, site.code)
        return {"id": message_id, "status": "refused", "code": "wrong_site",
                "message": "Lokasi hanya boleh mengirim berkasnya sendiri."}
    digest = hashlib.sha256(text.encode()).hexdigest()
    seen = InboxMessage.get_or_none(InboxMessage.message_id == message_id)
    if seen is not None:
        return _seen(site, seen, message_id, digest)
    try:
        with database.atomic():
            InboxMessage.create(message_id=message_id, site=site, kind=body["kind"],
                                body_sha256=digest, received_at=naive)
            _apply(site, body, content, naive, store_dir, max_bytes, services)
    except pw.IntegrityError:
        seen = InboxMessage.get_or_none(InboxMessage.message_id == message_id)
        if seen is not None:  # a concurrent copy of this message committed first
            return _seen(site, seen, message_id, digest)
        log.warning("sync message %s from %s refused: integrity", message_id, site.code)
        return {"id": message_id, "status": "refused", "code": "conflict",
                "message": "Data bertentangan dengan yang sudah ada."}
    except DomainError as exc:
        log.warning("sync message %s (%s) from %s refused: %s", message_id, body["kind"],
                    site.code, exc.code)
        return {"id": message_id, "status": "refused", "code": exc.code,
                "message": exc.message}
    except (KeyError, TypeError, ValueError, AttributeError):
        log.warning("sync message %s (%s) from %s refused: malformed", message_id,
                    body["kind"], site.code)
        return {"id": message_id, "status": "refused", "code": "invalid_message",
                "message": "Isi pesan tidak valid."}
    return {"id": message_id, "status": "stored"}


def _seen(site, seen, message_id, digest) -> dict:
    if seen.body_sha256 != digest or seen.site_id != site.id:
        log.warning("sync message %s from %s refused: same id, different body",
                    message_id, site.code)
        return {"id": message_id, "status": "refused", "code": "message_conflict",
                "message": "Id pesan sudah dipakai untuk isi yang berbeda."}
    return {"id": message_id, "status": "duplicate"}


def _own_case(site: Site, code) -> Case:
    case = Case.get_or_none(Case.tracking_code == (cases.normalise_code(code) or ""))
    if case is None:
        raise Refused("Berkas belum ada di pusat.", code="unknown_case")
    if case.site_id != site.id:
        raise Refused("Berkas milik lokasi lain.", code="wrong_site")
    return case


def _apply(site, body, content, naive, store_dir, max_bytes, services) -> None:
    if body.get("site") != site.code:
        raise Refused("Lokasi hanya boleh mengirim berkasnya sendiri.", code="wrong_site")
    RECEIVERS[body["kind"]](site, body, body["data"], content, naive,
                            {"store_dir": store_dir, "max_bytes": max_bytes,
                             "services": services})


def _receive_attachment(site, body, data, content, naive, ctx) -> None:
    case = _own_case(site, body.get("tracking_code"))
    if content is None:
        raise Refused("Lampiran tanpa isi.", code="missing_content")
    try:
        attachments.store_received(case, data, content, ctx["store_dir"], ctx["max_bytes"])
    except (KeyError, TypeError, ValueError):
        raise Refused("Data lampiran tidak valid.", code="invalid_message") from None


def _receive_status(site, body, data, content, naive, ctx) -> None:
    case = _own_case(site, body.get("tracking_code"))
    event = data.get("event") or {}
    if CaseEvent.select().where(CaseEvent.uid == str(event.get("uid"))).exists():
        return  # already here (all-in-one: the same row)
    status = event.get("status")
    if status not in cases.HALL_STATUSES:
        raise Refused("Status ini tidak dapat diatur oleh lokasi.", code="invalid_status")
    if case.status == status:
        return  # an officer recorded the same thing at the centre first
    cases._check_transition(case, status)
    case.status, case.updated_at = status, naive
    case.save(only=[Case.status, Case.updated_at])
    try:
        CaseEvent.create(uid=event["uid"], case=case, status=status,
                         at=dt.datetime.fromisoformat(event["at"]),
                         note=str(event.get("note", ""))[:1000],
                         by=str(event.get("by", ""))[:80], place="hall")
    except (KeyError, TypeError, ValueError):
        raise Refused("Data status tidak valid.", code="invalid_message") from None


def _receive_opened(site, body, data, content, naive, ctx) -> None:
    _apply_opened(site, body, data, naive, ctx["services"])


def _apply_opened(site, body, data, naive, services) -> None:
    code = cases.normalise_code(data.get("tracking_code"))
    if code is None or code != body.get("tracking_code"):
        raise Refused("Kode berkas tidak valid.", code="invalid_message")
    applicant = data.get("applicant") or {}
    nik = applicant.get("nik")
    existing = Case.get_or_none(Case.tracking_code == code)
    if existing is not None:
        # All-in-one: the hall's row is the centre's row. Anything else is a clash.
        if existing.site_id != site.id or existing.applicant_nik != nik:
            raise Refused("Kode berkas sudah dipakai.", code="tracking_code_clash")
        case = existing
    else:
        if not nik_rules.validate_nik(nik).ok:
            raise Refused("NIK tidak valid.", code="invalid_nik")
        service_code = data.get("service")
        if service_code not in services:
            services[service_code] = Service.get_or_none(Service.code == service_code)
        service = services[service_code]
        if service is None:
            raise Refused("Layanan tidak dikenal.", code="unknown_service")
        ticket_ref = str(data.get("ticket_ref") or "")[:32] or None
        if ticket_ref and Case.select().where(Case.ticket_ref == ticket_ref).exists():
            # Another case of this ticket: the hall was restored from a copy older than
            # the first case, and called that ticket again. The case is the citizen's
            # either way; only the link to the ticket cannot be kept twice.
            log.warning("case %s from %s arrived for a ticket another case already has "
                        "(a hall restored from a copy?): stored without the ticket link",
                        code, site.code)
            ticket_ref = None
        try:
            received_at = dt.datetime.fromisoformat(data["received_at"])
            case = Case.create(
                tracking_code=code, site=site, service=service, ticket_ref=ticket_ref,
                applicant_name=str(applicant.get("name", ""))[:120], applicant_nik=nik,
                applicant_phone=str(applicant.get("phone") or "")[:20],
                requirements=data.get("requirements") or [],
                notes=str(data.get("notes") or "")[:2000], status="received",
                received_at=received_at, updated_at=naive,
                opened_by=str(data.get("opened_by") or "")[:80])
            events = [CaseEvent(uid=e["uid"], case=case, status=e["status"],
                                at=dt.datetime.fromisoformat(e["at"]),
                                note=str(e.get("note", ""))[:1000], by=str(e.get("by", ""))[:80],
                                place="hall")
                      for e in data.get("history") or []
                      if e.get("status") in cases.STATUSES]
        except (KeyError, TypeError, ValueError):
            raise Refused("Data berkas tidak valid.", code="invalid_message") from None
        if events:
            CaseEvent.bulk_create(events)
    if case.status == "received":
        cases._centre_change(case, "forwarded", naive, note="Diterima MPP Induk")


# Kinds of message a hall sends up, and how the centre stores each (inside the batch's
# transaction, in a savepoint). The appointments feature adds e.g. "appointment.checked_in"
# and "appointment.no_show" with register_message_kind.
RECEIVERS = {"case.opened": _receive_opened, "case.attachment": _receive_attachment,
             "case.status": _receive_status, "notify.message": notify.receive_message}


def register_message_kind(kind: str, receive) -> None:
    RECEIVERS[kind] = receive


def updates_since(site: Site, since: int, limit: int = 500) -> dict:
    rows = list(CaseUpdate.select().where((CaseUpdate.site == site) & (CaseUpdate.seq > since))
                .order_by(CaseUpdate.seq).limit(limit))
    return {"updates": [{"seq": r.seq, "kind": r.kind, "body": r.body} for r in rows],
            "cursor": rows[-1].seq if rows else since,
            "more": len(rows) == limit}
