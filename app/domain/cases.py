"""Cases (berkas): opened at the counter from the ticket being served, forwarded to the
MPP Induk, processed there, collected at the hall.

Where changes go depends on the node's role (set once by `configure`):
- `site`: every change made at the hall is written with an outbox message in the same
  transaction; the centre's changes come back through the updates feed (domain/sync.py).
- `central`: every change made at the centre is written with a feed row for the hall
  in the same transaction. Cases opened at the Induk's own counters need no link and
  are forwarded at once.
- `all-in-one`: hall changes go through the outbox and the same sender and receiver as
  between two nodes, inside one process; the centre's side writes to the same rows the
  hall reads, so there is nothing to pull.

NIK and phone stay in the Case row: never in a log line, a URL or a public answer.
"""
import datetime as dt

import peewee as pw

from ..clock import as_utc_naive, iso
from ..db import database, lock_rows, write_transaction
from ..errors import Conflict, Forbidden, Invalid, NotFound
from ..models import (
    Agency,
    Case,
    CaseAttachment,
    CaseEvent,
    ForwardingMessage,
    Service,
    Site,
    Ticket,
    User,
)
from . import accounts, audit, calendar, codes, link_rows, notify, plaintext, queueing
from . import nik as nik_rules

STATUSES = {
    "received": ("Diterima di loket", "Received at the counter"),
    "forwarded": ("Diteruskan ke MPP Induk", "Forwarded to the MPP Induk"),
    "processing": ("Sedang diproses", "Being processed"),
    "needs_fix": ("Perlu perbaikan / kelengkapan", "Needs a fix"),
    "done": ("Selesai diproses", "Processed"),
    "ready_for_pickup": ("Siap diambil di Mini MPP", "Ready for pick-up"),
    "picked_up": ("Sudah diambil", "Picked up"),
}
# status -> statuses it may move to
TRANSITIONS = {
    "received": {"forwarded"},
    "forwarded": {"processing", "needs_fix", "done"},
    "processing": {"needs_fix", "done"},
    "needs_fix": {"processing", "done"},
    "done": {"ready_for_pickup", "picked_up"},
    "ready_for_pickup": {"picked_up"},
    "picked_up": set(),
}
OFFICER_STATUSES = ("processing", "needs_fix", "done", "ready_for_pickup", "picked_up")
HALL_STATUSES = ("picked_up",)  # the citizen collects at the hall

# Tracking codes: 2 letters from the service, then 8 readable symbols: 40 random bits.
CODE_SYMBOLS = 8
# --- tracking codes ------------------------------------------------------------------

def code_prefix(service: Service) -> str:
    letters = "".join(c for c in service.code.split("-")[-1].upper() if c.isalpha())
    return (letters + "XX")[:2]


def new_tracking_code(service: Service) -> str:
    symbols = codes.random_symbols(CODE_SYMBOLS)
    return f"{code_prefix(service)}-{symbols[:4]}-{symbols[4:]}"


def normalise_code(text) -> str | None:
    """'kk 7h3m q9xp' -> 'KK-7H3M-Q9XP'; None when it cannot be a tracking code."""
    if not isinstance(text, str) or len(text) > 40:
        return None
    raw = "".join(c for c in text.upper() if c.isalnum())
    if len(raw) != 2 + CODE_SYMBOLS or not raw[:2].isalpha() or not raw.isascii():
        return None
    if not codes.all_readable(raw[2:]):
        return None
    return f"{raw[:2]}-{raw[2:6]}-{raw[6:]}"


# --- lookups -------------------------------------------------------------------------

def get_case(code) -> Case:
    normal = normalise_code(code)
    case = Case.get_or_none(Case.tracking_code == normal) if normal else None
    if case is None:
        raise NotFound("Berkas dengan kode itu tidak ditemukan.", code="unknown_case")
    return case


def history(case: Case) -> list[CaseEvent]:
    return list(CaseEvent.select().where(CaseEvent.case == case)
                .order_by(CaseEvent.id))  # causal order; demo clocks of workers differ


def attachments_of(case: Case) -> list[CaseAttachment]:
    return list(CaseAttachment.select().where(CaseAttachment.case == case)
                .order_by(CaseAttachment.uploaded_at, CaseAttachment.id))


def case_for_ticket(ticket_id: str) -> Case | None:
    return Case.get_or_none(Case.ticket_ref == ticket_id)


def require_hall_staff(user: User, case: Case) -> None:
    """Operators and supervisors of the case's hall; admin; the agency's officer."""
    if accounts.has_site_role(user, case.site_id):
        return
    if user.role == "officer" and user.agency_id == case.service.agency_id:
        return
    raise Forbidden("Akun ini tidak berwenang atas berkas ini.")


def require_hall_writer(user: User, case: Case) -> None:
    """Changes made at the hall (attachments, picked up): its operators and supervisors,
    and admin. The agency's officer reads the case but works on it from the centre."""
    if not accounts.has_site_role(user, case.site_id):
        raise Forbidden("Hanya petugas lokasi berkas ini yang dapat mengubahnya di loket.")


def require_officer(user: User, case: Case | None = None) -> None:
    if user.role == "admin":
        return
    if user.role == "officer" and (case is None or user.agency_id == case.service.agency_id):
        return
    raise Forbidden("Hanya petugas instansi terkait atau admin.")


# --- public view ---------------------------------------------------------------------

def public_dict(case: Case) -> dict:
    """What anyone with the code sees: no name, NIK or phone."""
    return {
        "tracking_code": case.tracking_code,
        "service": case.service.code,
        "service_name": case.service.name,
        "site": case.site.code,
        "site_name": case.site.name,
        "status": case.status,
        "status_label": STATUSES[case.status][0],
        "status_label_en": STATUSES[case.status][1],
        "missing": case.missing if case.status == "needs_fix" else "",
        "history": [{"status": e.status, "label": STATUSES[e.status][0],
                     "label_en": STATUSES[e.status][1], "at": iso(e.at),
                     "missing": e.missing if e.status == "needs_fix" else ""}
                    for e in history(case)],
    }


def staff_dict(case: Case) -> dict:
    data = public_dict(case)
    data.update({
        "applicant": {"name": case.applicant_name, "nik": case.applicant_nik,
                      "phone": case.applicant_phone},
        "agency": case.service.agency.code,
        "requirements": case.requirements, "notes": case.notes,
        "received_at": iso(case.received_at), "updated_at": iso(case.updated_at),
        "attachments": [{"id": a.uid, "name": a.original_name, "content_type": a.content_type,
                         "size": a.size, "sha256": a.sha256, "uploaded_at": iso(a.uploaded_at)}
                        for a in attachments_of(case)],
        "history": [{"status": e.status, "at": iso(e.at), "note": e.note,
                     "missing": e.missing, "by": e.by, "place": e.place}
                    for e in history(case)],
    })
    return data


def inbox_row(case: Case) -> dict:
    return {"tracking_code": case.tracking_code, "site": case.site.code,
            "service": case.service.code, "agency": case.service.agency.code,
            "status": case.status, "received_at": iso(case.received_at),
            "updated_at": iso(case.updated_at)}


# --- opening a case ------------------------------------------------------------------

def _checklist(service: Service, received) -> list[dict]:
    if received is None:
        received = []
    if not isinstance(received, list) or len(received) > 50:
        raise Invalid("Daftar persyaratan tidak valid.", code="invalid_requirements")
    items = list(service.requirements or [])
    got = set()
    for entry in received:
        name = entry.get("item") if isinstance(entry, dict) else entry
        ticked = entry.get("received", True) if isinstance(entry, dict) else True
        if not isinstance(name, str) or name not in items:
            raise Invalid("Persyaratan tidak dikenal untuk layanan ini.",
                          code="invalid_requirements")
        if ticked:
            got.add(name)
    return [{"item": item, "received": item in got} for item in items]


def _clean_text(value, name: str, max_length: int, required: bool = False) -> str:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise Invalid(f"Kolom '{name}' wajib diisi.", code="missing_field", field=name)
        return ""
    if not isinstance(value, str) or len(value) > max_length:
        raise Invalid(f"Kolom '{name}' tidak valid.", code="invalid_field", field=name)
    if name == "notes":
        return plaintext.multi_line(value, name)
    return plaintext.single_line(value, name)


def _clean_phone(value) -> str:
    if value in (None, ""):
        return ""
    if not isinstance(value, str):
        raise Invalid("Nomor HP tidak valid.", code="invalid_phone")
    digits = value.strip().replace(" ", "").replace("-", "")
    if digits.startswith("+62"):
        digits = "0" + digits[3:]
    if not digits.isascii() or not digits.isdigit() or not 9 <= len(digits) <= 14 \
            or not digits.startswith("0"):
        raise Invalid("Nomor HP tidak valid (contoh 0812xxxxxxx).", code="invalid_phone")
    return digits


def open_case(ticket_id: str, service: Service, applicant: dict, requirements,
              notes, now: dt.datetime, by: audit.Actor | str = "") -> Case:
    """Open a case from the ticket being served and finish that ticket with outcome
    `case`, in one transaction with the case's first history row, its outbox message
    (or, at the centre, its forwarding) and the audit entry."""
    username = by.username if isinstance(by, audit.Actor) else by
    if not isinstance(applicant, dict):
        raise Invalid("Data pemohon wajib diisi.", code="missing_field", field="applicant")
    name = _clean_text(applicant.get("name"), "name", 120, required=True)
    nik_raw = applicant.get("nik")
    check = nik_rules.validate_nik(nik_raw)
    if not check.ok:
        raise Invalid(check.message, code="invalid_nik")
    nik = nik_rules.normalise(nik_raw)
    phone = _clean_phone(applicant.get("phone"))
    notes = _clean_text(notes, "notes", 2000)
    checklist = _checklist(service, requirements)
    naive = as_utc_naive(now)
    with write_transaction():
        ticket = lock_rows(Ticket.select().where(Ticket.id == ticket_id)).first()
        if ticket is None:
            raise NotFound("Tiket tidak ditemukan.", code="unknown_ticket")
        if ticket.status not in ("called", "serving"):
            raise Conflict("Berkas hanya dapat dibuka dari tiket yang sedang dilayani.",
                           code="invalid_transition", status_now=ticket.status)
        calendar.require_offered(ticket.site, service)
        if Case.select().where(Case.ticket_ref == ticket.id).exists():
            raise Conflict("Tiket ini sudah punya berkas.", code="case_exists")
        case = _insert_case(ticket, service, name, nik, phone, checklist, notes, naive,
                            username)
        event = _event(case, "received", naive, by=username, place="hall")
        queueing.finish(ticket.id, "case", now, by or None)
        if by:
            audit.record(by, "case.open", f"berkas {case.tracking_code}", now,
                         site_code=ticket.site.code,
                         after={"service": service.code, "ticket": ticket.number,
                                "applicant_nik": nik, "applicant_phone": phone})
        if link_rows.role() == "central":
            _centre_change(case, "forwarded", naive, note="Diterima langsung di MPP Induk")
        else:
            _outbox(case, "case.opened", case_payload(case, [event]), naive)
        notify.case_event(case, "received", event.uid, now)
    return case


def _insert_case(ticket, service, name, nik, phone, checklist, notes, naive, username):
    for _attempt in range(5):  # 40 random bits: a clash is rare; the unique index decides
        code = new_tracking_code(service)
        try:
            with database.atomic():
                return Case.create(
                    tracking_code=code, site=ticket.site_id, service=service,
                    ticket_ref=ticket.id, applicant_name=name, applicant_nik=nik,
                    applicant_phone=phone, requirements=checklist, notes=notes,
                    status="received", received_at=naive, updated_at=naive,
                    opened_by=username)
        except pw.IntegrityError:
            continue
    raise Conflict("Kode berkas tidak dapat dibuat. Coba lagi.", code="code_clash")


def _event(case: Case, status: str, naive: dt.datetime, note: str = "", missing: str = "",
           by: str = "", place: str = "hall", uid: str | None = None) -> CaseEvent:
    return CaseEvent.create(uid=uid or link_rows.new_uid(), case=case, status=status, at=naive,
                            note=note, missing=missing, by=by, place=place)


def event_payload(event: CaseEvent) -> dict:
    return {"uid": event.uid, "status": event.status, "at": event.at.isoformat(),
            "note": event.note, "missing": event.missing, "by": event.by,
            "place": event.place}


def case_payload(case: Case, events: list[CaseEvent]) -> dict:
    return {"tracking_code": case.tracking_code, "site": case.site.code,
            "service": case.service.code, "ticket_ref": case.ticket_ref,
            "applicant": {"name": case.applicant_name, "nik": case.applicant_nik,
                          "phone": case.applicant_phone},
            "requirements": case.requirements, "notes": case.notes,
            "received_at": case.received_at.isoformat(), "opened_by": case.opened_by,
            "history": [event_payload(e) for e in events]}


# --- where changes go ----------------------------------------------------------------

def _outbox(case: Case, kind: str, data: dict, naive: dt.datetime) -> ForwardingMessage:
    return link_rows.outbox(case.site_id, case.site.code, kind, case.tracking_code, data,
                            naive)


def _centre_change(case: Case, status: str, naive: dt.datetime, note: str = "",
                   missing: str = "", by: str = "", uid: str | None = None) -> CaseEvent:
    """A status change made at the centre: the row, its history, and (central role)
    the hall's feed row, in the caller's transaction."""
    case.status, case.updated_at = status, naive
    case.missing = missing if status == "needs_fix" else ""
    case.save(only=[Case.status, Case.updated_at, Case.missing])
    event = _event(case, status, naive, note=note, missing=case.missing, by=by,
                   place="central", uid=uid)
    notify.case_event(case, status, event.uid, naive)
    if link_rows.role() == "central":
        link_rows.feed(case.site_id, "case.status", {"tracking_code": case.tracking_code,
                                           "event": event_payload(event)}, naive)
    return event


def _check_transition(case: Case, status: str) -> None:
    if status not in STATUSES:
        raise Invalid("Status berkas tidak dikenal.", code="invalid_status",
                      allowed=list(STATUSES))
    if status not in TRANSITIONS[case.status]:
        raise Conflict(f"Berkas berstatus '{STATUSES[case.status][0]}'; tidak bisa "
                       f"menjadi '{STATUSES[status][0]}'.", code="invalid_transition",
                       status_now=case.status)


def set_status_central(code: str, status: str, now: dt.datetime, user: User,
                       note: str = "", missing: str = "", client: str = "") -> Case:
    """An officer (or admin) moves a case on; the hall sees it through its feed."""
    note = _clean_text(note, "note", 1000)
    missing = _clean_text(missing, "missing", 1000)
    if status not in OFFICER_STATUSES:
        raise Invalid("Status ini tidak dapat diatur oleh petugas.", code="invalid_status",
                      allowed=list(OFFICER_STATUSES))
    if status == "needs_fix" and not missing:
        raise Invalid("Tuliskan apa yang perlu dilengkapi.", code="missing_field",
                      field="missing")
    naive = as_utc_naive(now)
    with write_transaction():
        case = _locked_case(code)
        require_officer(user, case)
        _check_transition(case, status)
        before = case.status
        _centre_change(case, status, naive, note=note, missing=missing, by=user.username)
        audit.record(audit.Actor.of(user, client), "case.status", f"berkas {case.tracking_code}",
                     now, site_code=case.site.code, before={"status": before},
                     after={"status": status, "note": note, "missing": missing})
    return case


def _locked_case(code: str) -> Case:
    case = lock_rows(Case.select().where(
        Case.tracking_code == (normalise_code(code) or ""))).first()
    if case is None:
        raise NotFound("Berkas dengan kode itu tidak ditemukan.", code="unknown_case")
    return case


def set_status_hall(code: str, status: str, now: dt.datetime, user: User,
                    note: str = "", client: str = "") -> Case:
    """At the hall: the citizen collected the result (picked_up)."""
    note = _clean_text(note, "note", 1000)
    if status not in HALL_STATUSES:
        raise Invalid("Status ini tidak dapat diatur di loket.", code="invalid_status",
                      allowed=list(HALL_STATUSES))
    naive = as_utc_naive(now)
    with write_transaction():
        case = _locked_case(code)
        require_hall_writer(user, case)
        _check_transition(case, status)
        audit.record(audit.Actor.of(user, client), "case.status", f"berkas {case.tracking_code}",
                     now, site_code=case.site.code, before={"status": case.status},
                     after={"status": status, "note": note})
        case.status, case.updated_at = status, naive
        case.save(only=[Case.status, Case.updated_at])
        event = _event(case, status, naive, note=note, by=user.username, place="hall")
        if link_rows.role() == "central":
            link_rows.feed(case.site_id, "case.status", {"tracking_code": case.tracking_code,
                                               "event": event_payload(event)}, naive)
        else:
            _outbox(case, "case.status", {"event": event_payload(event)}, naive)
    return case


# --- the officer's inbox -------------------------------------------------------------

def inbox(user: User, site: str = "", agency: str = "", service: str = "",
          status: str = "", limit: int = 200) -> list[Case]:
    require_officer(user)
    query = (Case.select(Case, Service, Site).join(Service).switch(Case).join(Site))
    if user.role == "officer":
        query = query.where(Service.agency == user.agency_id)
    if agency:
        query = query.where(Service.agency.in_(Agency.select(Agency.id)
                                               .where(Agency.code == agency)))
    if site:
        query = query.where(Site.code == site)
    if service:
        query = query.where(Service.code == service)
    if status:
        if status not in STATUSES:
            raise Invalid("Status berkas tidak dikenal.", code="invalid_status")
        query = query.where(Case.status == status)
    return list(query.order_by(Case.updated_at.desc(), Case.id.desc()).limit(limit))


def cases_at_site(site: Site, limit: int = 50) -> list[Case]:
    return list(Case.select().where(Case.site == site)
                .order_by(Case.received_at.desc()).limit(limit))
