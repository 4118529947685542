"""Notifications to citizens, the rules: what is said (templates), to which number (the
one the citizen gave for that purpose; not after BERHENTI/STOP), when (quiet hours, a
daily limit per number) and by whom (the centre, or a hall with a modem of its own).
`app.notify` sends the rows; nothing here talks to a gateway.

- Written side: `enqueue` stores a `Notification` in the caller's transaction (the
  event's own: a booking, a case's status, a closure, a call at a counter), so a message
  exists if and only if its event commits. Each row has an idempotency `key` made of the
  event (a case event's uid, a booking code and kind, a ticket): one event, one message.
- Ownership (the handover rule), fixed when the row is written and never changed:
  case and booking messages belong to the centre. A hall (`site` role) that has a
  channel of its own (`hall_channel`) keeps a row when the centre cannot be reached at
  that moment (the link's last exchange failed) and always for "your turn is near";
  every other row the hall writes goes up the link (`notify.message`) and the centre
  sends it. A row the hall keeps goes up too, marked `hall`: the centre records it
  (`at_hall`) and never sends it. So each key has exactly one sender.
- Sending side (used by `app.notify`): `claim_batch` (a lease on a batch of due rows,
  with the opt-out, quiet hours and daily limit checked in the same transaction),
  `record_outcomes` (sent; retry with backoff, then `failed`; released), and the
  gateway's signed callbacks (`delivery_status`, `inbound` for BERHENTI/STOP).
- The supervisor's side: `failed_for`, `retry`, `mark_handled`; the admin's templates:
  `templates`, `set_template`, `preview`.
"""
import datetime as dt
import logging
import string

import peewee as pw

from ..clock import WITA, as_utc_naive, iso, local_day, to_local
from ..db import Param, database, is_sqlite, lock_rows, prepared, skip_locked, write_transaction
from ..errors import Conflict, Forbidden, Invalid, NotFound
from ..models import (
    Notification,
    NotifyNonce,
    NotifyOptOut,
    NotifyTemplate,
    Site,
    SyncState,
    Ticket,
    TicketWatch,
    User,
)
from . import accounts, audit, calendar, contact, link_rows, queueing

log = logging.getLogger("mpp.notify")

CONFIG = {"base_url": "", "daily_limit": 5, "hall_channel": False,
          "retry_seconds": 30.0, "max_attempts": 8}
# Called after a transaction that wrote notifications commits (the sender's wake-up).
LISTENERS = []
QUIET_FROM, QUIET_UNTIL = dt.time(21, 0), dt.time(6, 0)  # WITA
LEASE = dt.timedelta(minutes=2)
TURN_AHEAD = 3  # "tinggal 3 nomor lagi"
STOP_WORDS = {"BERHENTI", "STOP", "UNREG", "BATAL KABAR"}
START_WORDS = {"MULAI", "START"}


def configure(base_url: str = "", daily_limit: int = 5, hall_channel: bool = False,
              retry_seconds: float = 30.0, max_attempts: int = 8) -> None:
    CONFIG.update(base_url=base_url.rstrip("/"), daily_limit=int(daily_limit),
                  hall_channel=bool(hall_channel), retry_seconds=float(retry_seconds),
                  max_attempts=int(max_attempts))


def link(path: str) -> str:
    return CONFIG["base_url"] + path


# --- what is said ----------------------------------------------------------------------

# kind -> (purpose, urgent, the variables a template may use, the shipped text)
KINDS = {
    "booking_made": ("booking", False, ("kode", "layanan", "lokasi", "waktu", "tautan"),
                     "Mini MPP Kukar: janji temu {kode} ({layanan}) di {lokasi}, {waktu} "
                     "WITA. Tunjukkan kode/QR di kiosk: {tautan}"),
    "booking_reminder": ("booking", False, ("kode", "layanan", "lokasi", "waktu", "tautan"),
                         "Pengingat Mini MPP Kukar: janji temu {kode} ({layanan}) di "
                         "{lokasi}, {waktu} WITA. {tautan}"),
    "booking_moved": ("booking", False, ("kode", "layanan", "lokasi", "waktu", "tautan"),
                      "Mini MPP Kukar: janji temu {kode} dipindah ke {waktu} WITA di "
                      "{lokasi}. {tautan}"),
    "booking_cancelled": ("booking", False,
                          ("kode", "layanan", "lokasi", "waktu", "alasan", "tautan"),
                          "Mini MPP Kukar: janji temu {kode} di {lokasi} ({waktu} WITA) "
                          "dibatalkan: {alasan}. Pesan ulang: {tautan}"),
    "case_received": ("case", False, ("kode", "layanan", "lokasi", "tautan"),
                      "Mini MPP Kukar: berkas {kode} ({layanan}) diterima di {lokasi}. "
                      "Pantau: {tautan}"),
    "case_needs_fix": ("case", False, ("kode", "layanan", "lokasi", "kekurangan", "tautan"),
                       "Mini MPP Kukar: berkas {kode} perlu dilengkapi: {kekurangan}. "
                       "Bawa ke {lokasi}. {tautan}"),
    "case_ready": ("case", False, ("kode", "layanan", "lokasi", "alamat", "jam_buka",
                                   "tautan"),
                   "Mini MPP Kukar: berkas {kode} ({layanan}) siap diambil di {lokasi} "
                   "{alamat}, jam buka {jam_buka}. Bawa tanda terima. {tautan}"),
    "turn_near": ("turn", True, ("nomor", "lokasi", "layanan", "tautan"),
                  "Mini MPP Kukar: nomor {nomor} ({layanan}) di {lokasi}, tinggal 3 nomor "
                  "lagi. Segera kembali ke ruang tunggu. {tautan}"),
}
SAMPLE = {"kode": "KK-7H3M-Q9XP", "layanan": "Kartu Keluarga", "lokasi": "Mini MPP Tabang",
          "waktu": "Senin, 7 Desember 2026 09:00", "alasan": "libur daerah",
          "kekurangan": "fotokopi buku nikah", "alamat": "(Jl. Poros Tabang)",
          "jam_buka": "Sen-Jum 08.00-15.00", "nomor": "A023",
          "tautan": "https://mpp.kukarkab.go.id/lacak/KK-7H3M-Q9XP"}
PURPOSES = {
    "booking": "kode janji temu dan pengingatnya",
    "case": "kabar status berkas (diterima, perlu perbaikan, siap diambil)",
    "turn": "kabar saat tinggal 3 nomor lagi sebelum giliran Anda",
}


def purpose_text(purpose: str) -> str:
    """The sentence shown where the number is asked (consent for that purpose only)."""
    return (f"Nomor HP dipakai hanya untuk {PURPOSES[purpose]} lewat WhatsApp/SMS. "
            "Balas BERHENTI untuk berhenti.")


def _fields(text: str) -> list[str]:
    try:
        return [name for _lit, name, _spec, _conv in string.Formatter().parse(text)
                if name is not None]
    except ValueError:
        raise Invalid("Template tidak valid (kurung kurawal tidak berpasangan).",
                      code="invalid_template") from None


def check_template(kind: str, text) -> str:
    if kind not in KINDS:
        raise NotFound("Jenis pesan tidak dikenal.", code="unknown_kind")
    if not isinstance(text, str) or not text.strip() or len(text) > 600:
        raise Invalid("Isi template wajib diisi (paling panjang 600 huruf).",
                      code="invalid_template")
    allowed = KINDS[kind][2]
    unknown = sorted({name for name in _fields(text) if name not in allowed})
    if unknown:
        raise Invalid(f"Variabel tidak dikenal: {', '.join(unknown)}. Boleh: "
                      f"{', '.join(allowed)}.", code="unknown_variable",
                      unknown=unknown, allowed=list(allowed))
    return text.strip()


def template_text(kind: str) -> str:
    row = NotifyTemplate.get_or_none(NotifyTemplate.kind == kind)
    return row.body if row else KINDS[kind][3]


def render(kind: str, values: dict, text: str | None = None) -> str:
    text = template_text(kind) if text is None else text
    wanted = {name: str(values.get(name, "")) for name in KINDS[kind][2]}
    body = text.format(**wanted)
    return " ".join(body.split())[:640]

# kind -> what a supervisor reads for it (Indonesian, English)
LABELS = {
    "booking_made": ("Janji temu dibuat", "Booking made"),
    "booking_reminder": ("Pengingat janji temu", "Booking reminder"),
    "booking_moved": ("Janji temu dipindah", "Booking moved"),
    "booking_cancelled": ("Janji temu dibatalkan lokasi", "Booking cancelled by the hall"),
    "case_received": ("Berkas diterima", "Case received"),
    "case_needs_fix": ("Berkas perlu dilengkapi", "Case needs a fix"),
    "case_ready": ("Berkas siap diambil", "Case ready for pick-up"),
    "turn_near": ("Tinggal 3 nomor lagi", "Your turn is near"),
}


def templates() -> list[dict]:
    custom = {t.kind: t for t in NotifyTemplate.select()}
    return [{"kind": kind, "label": LABELS[kind], "purpose": purpose,
             "variables": list(names), "body": custom[kind].body if kind in custom else default,
             "default": default, "custom": kind in custom,
             "updated_at": iso(custom[kind].updated_at) if kind in custom else None,
             "preview": render(kind, SAMPLE, custom[kind].body if kind in custom else default)}
            for kind, (purpose, _urgent, names, default) in KINDS.items()]


def preview(kind: str, text) -> dict:
    body = check_template(kind, text)
    return {"kind": kind, "body": body, "preview": render(kind, SAMPLE, body),
            "variables": list(KINDS[kind][2])}


def set_template(actor: audit.Actor, kind: str, text, now: dt.datetime) -> dict:
    """An admin's text for one kind; an empty text (None) goes back to the shipped one."""
    if kind not in KINDS:
        raise NotFound("Jenis pesan tidak dikenal.", code="unknown_kind")
    body = None if text is None else check_template(kind, text)
    with write_transaction():
        before = template_text(kind)
        if body is None:
            NotifyTemplate.delete().where(NotifyTemplate.kind == kind).execute()
        else:
            (NotifyTemplate.insert(kind=kind, body=body, updated_at=as_utc_naive(now),
                                   updated_by=actor.username[:80])
             .on_conflict(conflict_target=[NotifyTemplate.kind],
                          update={NotifyTemplate.body: body,
                                  NotifyTemplate.updated_at: as_utc_naive(now),
                                  NotifyTemplate.updated_by: actor.username[:80]})
             .execute())
        audit.record(actor, "notify.template", kind, now, before={"body": before},
                     after={"body": template_text(kind)})
    return next(t for t in templates() if t["kind"] == kind)


# --- consent and the number ------------------------------------------------------------

def phone_for_messages(value) -> str:
    """A number given for messages: Indonesian mobile only (08.., +628.., 628..); 422
    otherwise."""
    return contact.normalise_phone(value)


def opted_out(phone: str) -> bool:
    return NotifyOptOut.select().where(NotifyOptOut.phone == phone).exists()


# --- written side ----------------------------------------------------------------------

def owner_for(site_id: int | None, urgent: bool) -> str:
    """The handover rule (see the module's doc): who sends a row written here, now."""
    if link_rows.role() != "site" or not CONFIG["hall_channel"]:
        return "centre"
    if urgent:
        return "hall"
    state = SyncState.get_or_none(SyncState.site == site_id) if site_id else None
    return "hall" if state is not None and state.failures > 0 else "centre"


def enqueue(kind: str, site: Site | None, phone_raw, ref: str, event: str, values: dict,
            now: dt.datetime, not_before: dt.datetime | None = None) -> Notification | None:
    """One message in the caller's transaction. `event` makes the idempotency key
    unique per event (a case event's uid, "made", a day). A number that is not an
    Indonesian mobile number (a landline on a case) gets nothing; a number that said
    BERHENTI gets a `stopped` row, never a message."""
    try:
        phone = contact.normalise_phone(phone_raw)
    except Invalid:
        return None
    purpose, urgent, _names, _default = KINDS[kind]
    naive = as_utc_naive(now)
    key = f"{kind}:{ref}:{event}"[:80]
    existing = Notification.get_or_none(Notification.key == key)
    if existing is not None:
        return existing  # the same event again (a replayed message): one row, one message
    owner = owner_for(site.id if site else None, urgent)
    status = "stopped" if opted_out(phone) else "pending"
    (Notification.insert(
        key=key, site=site.id if site else None, purpose=purpose, kind=kind, ref=ref[:40],
        phone=phone, body=render(kind, values), urgent=urgent, owner=owner, status=status,
        created_at=naive, next_attempt_at=as_utc_naive(not_before) if not_before else naive)
     .on_conflict_ignore().execute())
    row = Notification.get(Notification.key == key)
    for listener in LISTENERS:
        database.after_commit(listener)
    if link_rows.role() == "site" and site is not None:
        link_rows.outbox(site.id, site.code, "notify.message", ref[:20], wire(row), naive)
    return row


def wire(row: Notification) -> dict:
    return {"key": row.key, "purpose": row.purpose, "kind": row.kind, "ref": row.ref,
            "phone": row.phone, "body": row.body, "urgent": row.urgent, "owner": row.owner,
            "status": row.status, "created_at": row.created_at.isoformat(),
            "next_attempt_at": row.next_attempt_at.isoformat()}


def receive_message(site, body, data, content, naive, ctx) -> None:
    """At the centre (a receiver of `forwarding`): a row a hall wrote. The centre sends
    it unless the hall kept it; the same key twice is one row."""
    try:
        phone = contact.normalise_phone(data["phone"])
        kind, key = str(data["kind"]), str(data["key"])[:80]
        if kind not in KINDS:
            raise KeyError(kind)
        hall_owns = data.get("owner") == "hall"
        status = "at_hall" if hall_owns else (
            "stopped" if opted_out(phone) or data.get("status") == "stopped" else "pending")
        (Notification.insert(
            key=key, site=site.id, purpose=KINDS[kind][0], kind=kind,
            ref=str(data.get("ref", ""))[:40], phone=phone, body=str(data["body"])[:640],
            urgent=bool(data.get("urgent")), owner="hall" if hall_owns else "centre",
            status=status, created_at=dt.datetime.fromisoformat(data["created_at"]),
            next_attempt_at=max(naive, dt.datetime.fromisoformat(data["next_attempt_at"])))
         .on_conflict_ignore().execute())
    except (KeyError, TypeError, ValueError, Invalid):
        raise Invalid("Data pesan tidak valid.", code="invalid_message") from None
    if not hall_owns:
        for listener in LISTENERS:
            database.after_commit(listener)



# --- the events ------------------------------------------------------------------------

def _hours_text(site: Site, service=None) -> str:
    names = ["Sen", "Sel", "Rab", "Kam", "Jum", "Sab", "Min"]
    weekly = calendar.weekly_windows(site, service)
    groups = []
    for day in range(7):
        windows = weekly.get(day) or []
        text = ", ".join(f"{w.opens:%H.%M}-{w.closes:%H.%M}" for w in windows)
        if not text:
            continue
        if groups and groups[-1][2] == text and groups[-1][1] == day - 1:
            groups[-1][1] = day
        else:
            groups.append([day, day, text])
    return "; ".join((names[a] if a == b else f"{names[a]}-{names[b]}") + f" {t}"
                     for a, b, t in groups) or "-"


def case_event(case, status: str, event_uid: str, now: dt.datetime) -> None:
    """A case's status changed (received, needs_fix, ready_for_pickup): its message."""
    kind = {"received": "case_received", "needs_fix": "case_needs_fix",
            "ready_for_pickup": "case_ready"}.get(status)
    if kind is None or not case.applicant_phone:
        return
    site = case.site
    values = {"kode": case.tracking_code, "layanan": case.service.name,
              "lokasi": site.name, "kekurangan": case.missing or "-",
              "alamat": f"({site.address})" if site.address else "",
              "jam_buka": _hours_text(site), "tautan": link(f"/lacak/{case.tracking_code}")}
    enqueue(kind, site, case.applicant_phone, case.tracking_code, event_uid[:32], values, now)


def _booking_values(appt, code_text: str, reason: str = "") -> dict:
    start = to_local(appt.start_at)
    return {"kode": code_text, "layanan": appt.service.name,
            "lokasi": appt.site.name,
            "waktu": f"{calendar.describe_day(appt.day)} {start:%H:%M}",
            "alasan": reason or "-", "tautan": link(f"/booking/janji/{appt.code}")}


def booking_event(appt, what: str, now: dt.datetime, code_text: str,
                  reason: str = "") -> None:
    """made / moved / cancelled (by the hall: a closure): the message, and the two
    reminders (the day before, two hours before) waiting for their time."""
    if not appt.phone or appt.phone == "-":
        return
    naive = as_utc_naive(now)
    _cancel_reminders(appt.code, naive)
    values = _booking_values(appt, code_text, reason)
    stamp = naive.strftime("%Y%m%d%H%M%S%f")
    kind = {"made": "booking_made", "moved": "booking_moved",
            "cancelled": "booking_cancelled"}[what]
    if what == "cancelled" and not reason:
        return  # the citizen cancelled it: they know
    enqueue(kind, appt.site, appt.phone, appt.code, stamp, values, now)
    if what == "cancelled":
        return
    start = appt.start_at
    for label, before in (("h-1", dt.timedelta(days=1)), ("j-2", dt.timedelta(hours=2))):
        at = start - before
        if at > naive:
            enqueue("booking_reminder", appt.site, appt.phone, appt.code,
                    f"{label}:{start:%Y%m%d%H%M}", values, now, not_before=at)


def _cancel_reminders(code: str, naive: dt.datetime) -> None:
    (Notification.update(status="cancelled", last_error="janji temu berubah")
     .where((Notification.kind == "booking_reminder") & (Notification.ref == code)
            & (Notification.status == "pending")).execute())


# --- "kabari saya": your turn is near ----------------------------------------------------

def watch_ticket(ticket_id: str, phone_raw, now: dt.datetime) -> dict:
    """A citizen who steps out leaves a number on the ticket page; when three tickets
    are ahead (or fewer, already now) they get one message."""
    phone = phone_for_messages(phone_raw)
    naive = as_utc_naive(now)
    with write_transaction():
        ticket = queueing.get_ticket(ticket_id)
        if ticket.status != "waiting" or ticket.day != local_day(now):
            raise Conflict("Tiket ini tidak sedang menunggu.", code="ticket_not_waiting")
        (TicketWatch.insert(ticket_ref=ticket.id, site=ticket.site_id, phone=phone,
                            created_at=naive)
         .on_conflict(conflict_target=[TicketWatch.ticket_ref],
                      update={TicketWatch.phone: phone, TicketWatch.notified_at: None})
         .execute())
        ahead = queueing.waiting_before(ticket, now)
        if ahead <= TURN_AHEAD:
            _turn_near(ticket, phone, now)
    return {"ticket": ticket.id, "phone": contact.mask_phone(phone), "waiting_before": ahead,
            "purpose": purpose_text("turn")}


def _turn_near(ticket: Ticket, phone: str, now: dt.datetime) -> None:
    values = {"nomor": ticket.number, "lokasi": ticket.site.name,
              "layanan": ticket.service.name, "tautan": link(f"/t/{ticket.id}")}
    enqueue("turn_near", ticket.site, phone, ticket.id, "3", values, now)
    (TicketWatch.update(notified_at=as_utc_naive(now))
     .where(TicketWatch.ticket_ref == ticket.id).execute())


def after_call(site_id: int, now: dt.datetime) -> None:
    """Inside a call's transaction: the watched tickets of the hall that now have three
    or fewer ahead get their message. One indexed look-up when nobody watches."""
    watches = _UNNOTIFIED_WATCHES.models(TicketWatch, site=site_id)
    for watch in watches:
        ticket = Ticket.get_or_none(Ticket.id == watch.ticket_ref)
        if ticket is None or ticket.status != "waiting":
            (TicketWatch.update(notified_at=as_utc_naive(now))
             .where(TicketWatch.id == watch.id).execute())
            continue
        if queueing.waiting_before(ticket, now) <= TURN_AHEAD:
            _turn_near(ticket, watch.phone, now)


# Every call runs it: prepared, rendered once (app/db.py).
_UNNOTIFIED_WATCHES = prepared(lambda: TicketWatch.select().where(
    (TicketWatch.site == Param("site")) & TicketWatch.notified_at.is_null()))

queueing.CALL_HOOKS.append(after_call)


# --- sending side ------------------------------------------------------------------------

def quiet(now: dt.datetime) -> bool:
    local = to_local(now).time()
    return local >= QUIET_FROM or local < QUIET_UNTIL


def quiet_ends(now: dt.datetime) -> dt.datetime:
    local = to_local(now)
    day = local.date() if local.time() < QUIET_UNTIL else local.date() + dt.timedelta(days=1)
    return dt.datetime.combine(day, QUIET_UNTIL, tzinfo=WITA)


def _day_start(now: dt.datetime) -> dt.datetime:
    return as_utc_naive(dt.datetime.combine(local_day(now), dt.time(0), tzinfo=WITA))


def due(owner: str, now: dt.datetime, limit: int = 50) -> list[int]:
    naive = as_utc_naive(now)
    return [i for (i,) in Notification.select(Notification.id)
            .where((Notification.status == "pending") & (Notification.owner == owner)
                   & (Notification.next_attempt_at <= naive))
            .order_by(Notification.next_attempt_at, Notification.id).limit(limit).tuples()]


def claim(row_id: int, now: dt.datetime) -> Notification | None:
    """claim_batch for one row (tests, the CLI)."""
    rows = _claim(Notification.id == row_id, now, 1)
    return rows[0] if rows else None


def claim_batch(owner: str, now: dt.datetime, limit: int = 50,
                lease: dt.timedelta = LEASE) -> list[Notification]:
    """Take up to `limit` due rows of `owner` for sending, in one transaction: a lease
    by conditional update (SKIP LOCKED on PostgreSQL), so several workers never take one
    row twice. In the same transaction each row is put off instead when it must wait: a
    number that said STOP (stopped), quiet hours (not urgent: to 06.00 WITA), the day's
    limit reached (to tomorrow; "your turn" is dropped as `limited`, tomorrow it means
    nothing). `lease` must outlast sending the whole batch."""
    return _claim(Notification.owner == owner, now, limit, lease)


def _claim(which, now: dt.datetime, limit: int,
           lease: dt.timedelta = LEASE) -> list[Notification]:
    naive = as_utc_naive(now)
    with write_transaction():
        rows = list(skip_locked(Notification.select().where(
            which & (Notification.status == "pending")
            & (Notification.next_attempt_at <= naive)
            & (Notification.claimed_until.is_null() | (Notification.claimed_until < naive)))
            .order_by(Notification.next_attempt_at, Notification.id).limit(limit)))
        if not rows:
            return []
        phones = sorted({r.phone for r in rows})
        _count_in_turn(phones)
        stopped = {p for (p,) in NotifyOptOut.select(NotifyOptOut.phone)
                   .where(NotifyOptOut.phone.in_(phones)).tuples()}
        today = _day_start(now)
        used = dict(Notification.select(Notification.phone, pw.fn.COUNT(Notification.id))
                    .where(Notification.phone.in_(phones)
                           & ((Notification.sent_at >= today)
                              | ((Notification.status == "pending")
                                 & (Notification.claimed_until > naive))))
                    .group_by(Notification.phone).tuples())
        is_quiet = quiet(now)
        taken = []
        for row in rows:
            if row.phone in stopped:
                _set(row, status="stopped", last_error="nomor membalas BERHENTI")
            elif not row.urgent and is_quiet:
                _set(row, next_attempt_at=as_utc_naive(quiet_ends(now)))
            elif used.get(row.phone, 0) >= CONFIG["daily_limit"]:
                if row.urgent:
                    _set(row, status="limited", last_error="batas pesan harian nomor ini")
                else:
                    tomorrow = dt.datetime.combine(local_day(now) + dt.timedelta(days=1),
                                                   QUIET_UNTIL, tzinfo=WITA)
                    _set(row, next_attempt_at=as_utc_naive(tomorrow),
                         last_error="batas pesan harian nomor ini; dikirim besok")
            else:
                used[row.phone] = used.get(row.phone, 0) + 1
                row.attempts += 1
                taken.append(row)
        for chunk in pw.chunked([r.id for r in taken], 500):
            (Notification.update(claimed_until=naive + lease, attempts=Notification.attempts + 1)
             .where(Notification.id.in_(chunk)).execute())
        return taken


def forget_before(cutoff: dt.datetime) -> int:
    """Personal data minimisation, inside the caller's transaction: messages settled
    before `cutoff` lose their number (the text, kind and outcome stay for the record),
    and the ticket pages' "kabari saya" numbers of those days go. Returns messages
    cleared. A number that said STOP is kept: it is the citizen's standing wish."""
    naive = as_utc_naive(cutoff)
    cleared = (Notification.update(phone="-")
               .where((Notification.created_at < naive) & (Notification.phone != "-")
                      & (Notification.status != "pending"))
               .execute())
    TicketWatch.delete().where(TicketWatch.created_at < naive).execute()
    return cleared


def _count_in_turn(phones: list[str]) -> None:
    """On PostgreSQL, senders in other workers could count a number's day at the same
    moment and each send its last allowed message: each takes the number's lock (in
    sorted order, so two never deadlock) until its claims commit, and the count after
    it sees theirs. SQLite's writers are already one at a time."""
    if is_sqlite():
        return
    for phone in phones:
        database.execute_sql("SELECT pg_advisory_xact_lock(hashtext(%s))", (phone,))


def _set(row: Notification, **fields) -> None:
    Notification.update(**fields).where(Notification.id == row.id).execute()


def retry_delay(attempts: int) -> dt.timedelta:
    """retry_seconds, doubling per attempt, at most an hour."""
    return dt.timedelta(seconds=min(3600.0, CONFIG["retry_seconds"] * 2 ** max(0, attempts - 1)))


def record_outcomes(outcomes: list[tuple], now: dt.datetime) -> dict:
    """What became of a batch, in one transaction. Each outcome is (row, what, channel,
    detail): `sent` (detail: the gateway's reference), `retry` / `failed` (detail: the
    error; `retry` turns into `failed` after max_attempts; then the supervisor sees it),
    `released` (not tried: the lease is given back and the try does not count)."""
    naive = as_utc_naive(now)
    counts = {"sent": 0, "retry": 0, "failed": 0, "released": 0}
    pending = Notification.status == "pending"
    with write_transaction():
        for row, what, channel, detail in outcomes:
            if what == "sent":
                (Notification.update(status="sent", channel=channel, sent_at=naive,
                                     claimed_until=None, gateway_ref=(detail or "")[:80],
                                     last_error="")
                 .where((Notification.id == row.id) & pending).execute())
            elif what == "released":
                (Notification.update(claimed_until=None, attempts=Notification.attempts - 1)
                 .where((Notification.id == row.id) & pending).execute())
            else:
                if what == "retry" and row.attempts >= CONFIG["max_attempts"]:
                    what = "failed"
                (Notification.update(status="failed" if what == "failed" else "pending",
                                     channel=channel, claimed_until=None,
                                     last_error=str(detail)[:500],
                                     next_attempt_at=naive + retry_delay(row.attempts))
                 .where((Notification.id == row.id) & pending).execute())
            counts[what] += 1
    return counts


def record_sent(row: Notification, channel: str, gateway_ref: str, now: dt.datetime) -> None:
    record_outcomes([(row, "sent", channel, gateway_ref)], now)


def record_failure(row: Notification, channel: str, error: str, now: dt.datetime,
                   final: bool = False) -> str:
    counts = record_outcomes([(row, "failed" if final else "retry", channel, error)], now)
    return "failed" if counts["failed"] else "retry"


# --- the gateway's callbacks ---------------------------------------------------------------

def remember_nonce(nonce: str, real_now: dt.datetime, window_seconds: int) -> None:
    """A signed callback's nonce, accepted once inside the window (409 on a replay)."""
    naive = as_utc_naive(real_now)
    if not isinstance(nonce, str) or not 8 <= len(nonce) <= 64:
        raise Invalid("Nonce tidak valid.", code="invalid_signature", status=401)
    with write_transaction():
        NotifyNonce.delete().where(
            NotifyNonce.at < naive - dt.timedelta(seconds=window_seconds)).execute()
        try:
            with database.atomic():
                NotifyNonce.create(nonce=nonce, at=naive)
        except pw.IntegrityError:
            raise Conflict("Permintaan ini sudah pernah diterima.",
                           code="replayed") from None


def delivery_status(data, now: dt.datetime) -> dict:
    """The gateway says what became of a message: delivered, read or failed (with
    the reason, which the supervisor sees)."""
    if not isinstance(data, dict):
        raise Invalid("Isi permintaan tidak valid.", code="invalid_body")
    key, status = data.get("id"), data.get("status")
    if status not in ("delivered", "read", "failed"):
        raise Invalid("Status tidak dikenal.", code="invalid_status",
                      allowed=["delivered", "read", "failed"])
    if not isinstance(key, str) or not key:
        raise Invalid("id wajib diisi.", code="missing_field", field="id")
    error = str(data.get("error") or "")[:500]
    with write_transaction():
        row = lock_rows(Notification.select().where(Notification.key == key)).first()
        if row is None:
            raise NotFound("Pesan tidak dikenal.", code="unknown_message")
        if status == "failed" and row.status in ("sent", "pending"):
            _set(row, status="failed", claimed_until=None,
                 last_error=f"gateway: {error or 'gagal terkirim'}")
        elif status in ("delivered", "read") and row.status in ("sent", "pending", "failed"):
            _set(row, status="delivered", last_error="",
                 sent_at=row.sent_at or as_utc_naive(now))
    return {"id": key, "status": Notification.get_by_id(row.id).status}


def inbound(data, now: dt.datetime, source: str = "gateway") -> dict:
    """A citizen's reply: BERHENTI / STOP stops every message to that number (pending
    ones included); MULAI / START lifts it. Anything else is ignored."""
    if not isinstance(data, dict):
        raise Invalid("Isi permintaan tidak valid.", code="invalid_body")
    phone = phone_for_messages(data.get("from"))
    text = " ".join(str(data.get("text") or "").upper().split())
    naive = as_utc_naive(now)
    with write_transaction():
        if text in STOP_WORDS:
            (NotifyOptOut.insert(phone=phone, at=naive, source=source[:20])
             .on_conflict_ignore().execute())
            (Notification.update(status="stopped", last_error="nomor membalas BERHENTI")
             .where((Notification.phone == phone) & (Notification.status == "pending"))
             .execute())
            action = "stopped"
        elif text in START_WORDS:
            NotifyOptOut.delete().where(NotifyOptOut.phone == phone).execute()
            action = "started"
        else:
            action = "ignored"
    log.info("inbound reply from %s: %s", contact.mask_phone(phone), action)
    return {"from": contact.mask_phone(phone), "action": action}


# --- the supervisor's side -------------------------------------------------------------------

def public_row(row: Notification) -> dict:
    """A row as staff see it: the number masked."""
    return {"id": row.id, "key": row.key, "site": row.site.code if row.site_id else None,
            "kind": row.kind, "purpose": row.purpose, "ref": row.ref,
            "phone": contact.mask_phone(row.phone), "body": row.body, "status": row.status,
            "owner": row.owner, "channel": row.channel, "attempts": row.attempts,
            "last_error": row.last_error, "created_at": iso(row.created_at),
            "sent_at": iso(row.sent_at), "next_attempt_at": iso(row.next_attempt_at),
            "handled_by": row.handled_by}


def _visible(user: User):
    if user.role == "admin":
        return True
    if user.role == "supervisor" and user.site_id:
        return Notification.site == user.site_id
    raise_forbidden()


def raise_forbidden():
    raise Forbidden("Hanya pengawas lokasi atau admin.")


def failed_for(user: User, limit: int = 200) -> list[dict]:
    """Messages that failed for good, newest first, of the halls this user supervises."""
    scope = _visible(user)
    query = Notification.select().where(Notification.status == "failed")
    if scope is not True:
        query = query.where(scope)
    return [public_row(r) for r in query.order_by(Notification.id.desc()).limit(limit)]


def _locked_for(user: User, row_id) -> Notification:
    if not isinstance(row_id, int):
        raise NotFound("Pesan tidak dikenal.", code="unknown_message")
    row = lock_rows(Notification.select().where(Notification.id == row_id)).first()
    if row is None:
        raise NotFound("Pesan tidak dikenal.", code="unknown_message")
    if user.role != "admin" and not (row.site_id and accounts.has_site_role(
            user, row.site_id, ("supervisor",))):
        raise_forbidden()
    if row.status != "failed":
        raise Conflict("Hanya pesan yang gagal yang dapat dikirim ulang atau ditandai.",
                       code="not_failed", status_now=row.status)
    return row


def retry(user: User, row_id, now: dt.datetime, client: str = "") -> dict:
    with write_transaction():
        row = _locked_for(user, row_id)
        _set(row, status="pending", attempts=0, next_attempt_at=as_utc_naive(now),
             claimed_until=None)
        audit.record(audit.Actor.of(user, client), "notify.retry", row.key, now,
                     site_code=row.site.code if row.site_id else "",
                     before={"status": "failed", "last_error": row.last_error},
                     after={"status": "pending"})
        for listener in LISTENERS:
            database.after_commit(listener)
    return public_row(Notification.get_by_id(row.id))


def mark_handled(user: User, row_id, now: dt.datetime, client: str = "") -> dict:
    with write_transaction():
        row = _locked_for(user, row_id)
        _set(row, status="handled", handled_by=user.username[:80])
        audit.record(audit.Actor.of(user, client), "notify.handled", row.key, now,
                     site_code=row.site.code if row.site_id else "",
                     before={"status": "failed", "last_error": row.last_error},
                     after={"status": "handled"})
    return public_row(Notification.get_by_id(row.id))
