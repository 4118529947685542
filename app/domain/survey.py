"""The SKM/IKM survey: a citizen's answer sheet after a visit, and the published figures.

A sheet answers the nine unsur (1-4 each), with an optional suggestion and the
questionnaire's respondent profile. A sheet may name the ticket it is about: the ticket
must belong to the hall and be finished, and each ticket is answered at most once (a
unique index decides under any concurrency). Only the figures (`figures`) are published;
the sheets themselves never leave the staff's hands.
"""
import datetime as dt

import peewee as pw

from ..clock import as_utc_naive, local_day
from ..db import database, write_transaction
from ..errors import Conflict, Invalid, NotFound
from ..models import Counter, Service, Site, SurveyResponse, Ticket
from . import calendar, forwarding, ikm, link_rows, plaintext

KIND = "survey.answered"

PROFILE_CHOICES = {
    "age_band": ("<20", "20-29", "30-39", "40-49", "50-59", "60+"),
    "sex": ("L", "P"),
    "education": ("SD", "SMP", "SMA", "D1-D3", "D4/S1", "S2", "S3"),
    "occupation": ("PNS", "TNI", "POLRI", "Swasta", "Wirausaha", "Lainnya"),
}


def _profile(value) -> dict | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise Invalid("Profil responden harus berupa objek.", code="invalid_field",
                      field="profile")
    unknown = sorted(set(value) - set(PROFILE_CHOICES))
    if unknown:
        raise Invalid(f"Kolom profil tidak dikenal: {', '.join(unknown)[:100]}.",
                      code="invalid_field", field="profile")
    for key, answer in value.items():
        if answer is not None and answer not in PROFILE_CHOICES[key]:
            raise Invalid(f"Pilihan '{key}' tidak dikenal.", code="invalid_field",
                          field="profile", allowed=list(PROFILE_CHOICES[key]))
    return {k: v for k, v in value.items() if v is not None} or None


def _comment(value) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise Invalid("Saran harus berupa teks.", code="invalid_field", field="comment")
    text = plaintext.multi_line(value, "comment", "Saran")
    if len(text) > 1000:
        raise Invalid("Saran paling banyak 1000 huruf.", code="invalid_field",
                      field="comment")
    return text


def submit(site: Site, service: Service, answers, now: dt.datetime,
           ticket_id: str | None = None, comment=None, profile=None) -> SurveyResponse:
    """Store one answer sheet (its own transaction)."""
    sheet = ikm.answers_from_list(answers)
    text, who = _comment(comment), _profile(profile)
    with write_transaction():
        if ticket_id is not None:
            if not isinstance(ticket_id, str):
                raise Invalid("ticket_id harus berupa teks.", code="invalid_field",
                              field="ticket_id")
            ticket = Ticket.get_or_none(Ticket.id == ticket_id[:32])
            if ticket is None or ticket.site_id != site.id:
                raise NotFound("Tiket tidak ditemukan di lokasi ini.", code="unknown_ticket")
            if ticket.status != "done":
                raise Conflict("Survei dapat diisi setelah layanan selesai.",
                               code="ticket_not_done")
            if SurveyResponse.select().where(SurveyResponse.ticket_ref == ticket.id).exists():
                raise Conflict("Survei untuk tiket ini sudah diisi. Terima kasih.",
                               code="already_answered")
            service = ticket.service
        try:
            with database.atomic():
                row = SurveyResponse.create(
                    site=site, service=service, ticket_ref=ticket_id, answers=sheet,
                    comment=text, profile=who, day=local_day(now),
                    created_at=as_utc_naive(now))
        except pw.IntegrityError:  # the same ticket answered at the same moment
            raise Conflict("Survei untuk tiket ini sudah diisi. Terima kasih.",
                           code="already_answered") from None
        _forward(site, row)
        return row


def _forward(site: Site, row: SurveyResponse) -> None:
    """At a hall's box the sheet goes up to the centre in its own transaction."""
    if link_rows.role() != "site" or not link_rows.serves(site.code):
        return
    link_rows.outbox(site.id, site.code, KIND, f"survey:{site.code}", {
        "ticket_ref": row.ticket_ref, "service": row.service.code, "answers": row.answers,
        "comment": row.comment, "profile": row.profile, "day": row.day.isoformat(),
        "created_at": row.created_at.isoformat()}, row.created_at)


def receive_sheet(site: Site, body, data, content, naive, ctx) -> None:
    """At the centre: a hall's sheet, checked like one answered here. The message id
    is stored once by `forwarding`; a ticket's sheet is also unique by its ticket."""
    service = Service.get_or_none(Service.code == str(data["service"])[:40])
    if service is None:
        raise ValueError("service")
    ticket_ref = data.get("ticket_ref")
    if ticket_ref is not None and (
            not isinstance(ticket_ref, str)
            or SurveyResponse.select().where(SurveyResponse.ticket_ref == ticket_ref).exists()):
        return
    SurveyResponse.create(
        site=site, service=service, ticket_ref=ticket_ref,
        answers=ikm.answers_from_list([data["answers"][c] for c in ikm.CODES]),
        comment=_comment(data.get("comment")), profile=_profile(data.get("profile")),
        day=dt.date.fromisoformat(data["day"]),
        created_at=dt.datetime.fromisoformat(data["created_at"]))


forwarding.register_message_kind(KIND, receive_sheet)


def figures(site: Site, day_from: dt.date | None = None, day_to: dt.date | None = None,
            service: Service | None = None) -> ikm.IkmResult:
    """The published figures of a hall (optionally one service) over a period."""
    query = SurveyResponse.select(SurveyResponse.answers).where(SurveyResponse.site == site)
    if service is not None:
        query = query.where(SurveyResponse.service == service)
    if day_from is not None:
        query = query.where(SurveyResponse.day >= day_from)
    if day_to is not None:
        query = query.where(SurveyResponse.day <= day_to)
    return ikm.compute([row.answers for row in query])


def period(day_from: str | None, day_to: str | None, now: dt.datetime
           ) -> tuple[dt.date, dt.date]:
    """?from=&to= (YYYY-MM-DD, WITA days); by default the current year so far."""
    today = local_day(now)

    first = calendar.query_day(day_from, "from") or today.replace(month=1, day=1)
    last = calendar.query_day(day_to, "to") or today
    if last < first:
        raise Invalid("Tanggal 'to' harus sama atau setelah 'from'.", code="invalid_date",
                      field="to")
    return first, last


# How long after finishing a ticket its survey waits on the counter's tablet.
TABLET_MINUTES = 10


def answered(ticket_id: str) -> bool:
    return SurveyResponse.select().where(SurveyResponse.ticket_ref == ticket_id).exists()


def pending_for_counter(counter: Counter, now: dt.datetime) -> Ticket | None:
    """The ticket this counter finished last, if it was in the last few minutes and its
    survey is not answered yet: what the counter's tablet asks about."""
    since = as_utc_naive(now) - dt.timedelta(minutes=TABLET_MINUTES)
    ticket = (Ticket.select().where((Ticket.counter == counter) & (Ticket.status == "done")
                                    & (Ticket.finished_at >= since))
              .order_by(Ticket.finished_at.desc()).first())
    if ticket is None or answered(ticket.id):
        return None
    return ticket
