"""Plain data the renderers take: never models, so rendering is testable on its own
and the cases feature can print a receipt without knowing about tickets."""
import datetime as dt
from dataclasses import dataclass, field


@dataclass(frozen=True)
class TicketPrint:
    hall_name: str
    service_name: str
    number: str
    issued_at: dt.datetime          # aware, in the hall's local time (WITA)
    waiting_before: int
    estimated_wait_minutes: int
    track_url: str                  # encoded in the QR code
    priority_label: str | None = None
    appointment: bool = False
    footer: str = "Simpan tiket ini sampai nomor Anda dipanggil."
    footer_en: str = "Keep this ticket until your number is called."


@dataclass(frozen=True)
class CaseReceipt:
    hall_name: str
    tracking_code: str
    service_name: str
    applicant_name: str
    nik_masked: str                 # already masked by the caller, e.g. 6402********0001
    requirements_received: list[str] = field(default_factory=list)
    received_at: dt.datetime | None = None  # aware, in local time (WITA)
    expected_on: dt.date | None = None
    track_url: str = ""
    officer_name: str = ""


# --- snapshots: a print job stores the data as JSON and renders it when it is sent ----

def ticket_to_json(ticket: TicketPrint) -> dict:
    return {"hall_name": ticket.hall_name, "service_name": ticket.service_name,
            "number": ticket.number, "issued_at": ticket.issued_at.isoformat(),
            "waiting_before": ticket.waiting_before,
            "estimated_wait_minutes": ticket.estimated_wait_minutes,
            "track_url": ticket.track_url, "priority_label": ticket.priority_label,
            "appointment": ticket.appointment, "footer": ticket.footer,
            "footer_en": ticket.footer_en}


def ticket_from_json(data: dict) -> TicketPrint:
    values = dict(data)
    values["issued_at"] = dt.datetime.fromisoformat(values["issued_at"])
    return TicketPrint(**values)


def receipt_to_json(receipt: CaseReceipt) -> dict:
    return {"hall_name": receipt.hall_name, "tracking_code": receipt.tracking_code,
            "service_name": receipt.service_name, "applicant_name": receipt.applicant_name,
            "nik_masked": receipt.nik_masked,
            "requirements_received": list(receipt.requirements_received),
            "received_at": receipt.received_at.isoformat() if receipt.received_at else None,
            "expected_on": receipt.expected_on.isoformat() if receipt.expected_on else None,
            "track_url": receipt.track_url, "officer_name": receipt.officer_name}


def receipt_from_json(data: dict) -> CaseReceipt:
    values = dict(data)
    if values.get("received_at"):
        values["received_at"] = dt.datetime.fromisoformat(values["received_at"])
    if values.get("expected_on"):
        values["expected_on"] = dt.date.fromisoformat(values["expected_on"])
    return CaseReceipt(**values)
