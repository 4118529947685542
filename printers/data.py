"""Plain data the renderers take: never models, so rendering is testable on its own
and the cases feature can print a receipt without knowing about tickets."""
import datetime as dt
from dataclasses import dataclass, field


@dataclass(frozen=True)
class TicketPrint:
    hall_name: str
    service_name: str
    number: str
    issued_at: dt.datetime          # aware; rendered in WITA
    waiting_before: int
    estimated_wait_minutes: int
    track_url: str                  # encoded in the QR code
    priority_label: str | None = None
    appointment: bool = False
    footer: str = "Simpan tiket ini sampai nomor Anda dipanggil."


@dataclass(frozen=True)
class CaseReceipt:
    hall_name: str
    tracking_code: str
    service_name: str
    applicant_name: str
    nik_masked: str                 # already masked by the caller, e.g. 6402********0001
    requirements_received: list[str] = field(default_factory=list)
    received_at: dt.datetime | None = None
    expected_on: dt.date | None = None
    track_url: str = ""
    officer_name: str = ""
