"""What a ticket and a receipt say, as a list of blocks: built once, drawn three ways
(PDF, ESC/POS, printable HTML). Bahasa Indonesia first, English second. Times are
printed as given: the caller passes them already in the hall's local time (WITA).

A block is a kind and its text; each renderer decides how a kind looks on its medium:
  hall     the hall's name, bold
  caption  a small label above something big
  number   the queue number: as large as the paper allows
  code     a tracking code: large, but long
  strong   a bold line (the service)
  inverse  white on black (priority group, appointment)
  title    a bold heading with its English under it
  pair     label / English label on the left, value on the right
  items    a checklist of received documents
  rule     a separator
  qr       a QR code of `text`
  note     small print; `en` is the English line under it
"""
import datetime as dt
import re
from dataclasses import dataclass, field

from .data import CaseReceipt, TicketPrint

DAYS = ["Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu"]
MONTHS = ["Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus",
          "September", "Oktober", "November", "Desember"]


@dataclass(frozen=True)
class Block:
    kind: str
    text: str = ""
    en: str = ""
    value: str = ""
    items: tuple = field(default_factory=tuple)


def long_date(day: dt.date) -> str:
    """Senin, 30 November 2026."""
    return f"{DAYS[day.weekday()]}, {day.day} {MONTHS[day.month - 1]} {day.year}"


def wita_time(moment: dt.datetime) -> str:
    return moment.strftime("%H:%M") + " WITA"


_DIGIT_RUN = re.compile(r"\d{7,}")


def safe_nik(value: str) -> str:
    """The NIK as printed: callers pass it masked already; if a run of digits long
    enough to identify someone slips through, keep only the first and last four."""
    def mask(match):
        digits = match.group(0)
        return digits[:4] + "*" * (len(digits) - 8) + digits[-4:] if len(digits) > 8 \
            else "*" * len(digits)
    return _DIGIT_RUN.sub(mask, value or "")


def ticket_blocks(ticket: TicketPrint) -> list[Block]:
    local = ticket.issued_at
    blocks = [
        Block("hall", ticket.hall_name),
        Block("caption", "Nomor Antrean", en="Queue number"),
        Block("number", ticket.number),
        Block("strong", ticket.service_name),
    ]
    if ticket.priority_label:
        blocks.append(Block("inverse", f"PRIORITAS: {ticket.priority_label}",
                            en="Priority service"))
    if ticket.appointment:
        blocks.append(Block("inverse", "JANJI TEMU", en="Appointment"))
    wait = ("segera dipanggil" if ticket.waiting_before == 0
            else f"± {ticket.estimated_wait_minutes} menit")
    blocks += [
        Block("rule"),
        Block("pair", "Tanggal", en="Date", value=long_date(local.date())),
        Block("pair", "Jam ambil", en="Issued at", value=wita_time(ticket.issued_at)),
        Block("pair", "Di depan Anda", en="People ahead", value=f"{ticket.waiting_before} orang"),
        Block("pair", "Perkiraan tunggu", en="Estimated wait", value=wait),
        Block("rule"),
    ]
    if ticket.track_url:
        blocks += [
            Block("qr", ticket.track_url),
            Block("note", "Pindai untuk memantau antrean di ponsel Anda.",
                  en="Scan to follow the queue on your phone."),
        ]
    blocks.append(Block("note", ticket.footer, en=ticket.footer_en))
    return blocks


def receipt_blocks(receipt: CaseReceipt) -> list[Block]:
    blocks = [
        Block("hall", receipt.hall_name),
        Block("title", "TANDA TERIMA BERKAS", en="Application receipt"),
        Block("caption", "Kode pelacakan", en="Tracking code"),
        Block("code", receipt.tracking_code),
        Block("rule"),
        Block("pair", "Layanan", en="Service", value=receipt.service_name),
        Block("pair", "Pemohon", en="Applicant", value=receipt.applicant_name),
        Block("pair", "NIK", en="ID number", value=safe_nik(receipt.nik_masked)),
    ]
    if receipt.received_at:
        local = receipt.received_at
        blocks.append(Block("pair", "Diterima", en="Received",
                            value=f"{long_date(local.date())}\n{local:%H:%M} WITA"))
    if receipt.requirements_received:
        blocks.append(Block("items", "Persyaratan diterima", en="Documents received",
                            items=tuple(receipt.requirements_received)))
    if receipt.expected_on:
        blocks.append(Block("pair", "Perkiraan selesai", en="Expected ready",
                            value=long_date(receipt.expected_on)))
    if receipt.officer_name:
        blocks.append(Block("pair", "Petugas", en="Officer", value=receipt.officer_name))
    blocks.append(Block("rule"))
    if receipt.track_url:
        blocks += [
            Block("qr", receipt.track_url),
            Block("note", "Pindai untuk melacak status berkas Anda, atau buka halaman "
                          "Lacak dengan kode di atas.",
                  en="Scan to track your application, or use the code above."),
        ]
    blocks.append(Block("note", "Simpan tanda terima ini untuk mengambil hasil layanan.",
                        en="Keep this receipt to collect the result."))
    return blocks
