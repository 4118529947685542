"""Renderers: PDF sized to the roll, ESC/POS bytes decoded by a small parser, and the
PDF rendered to PNG in test-artifacts/ for a person to look at."""
import dataclasses
import datetime as dt
import io
import shutil
import subprocess
from pathlib import Path

import pytest
import segno
from pypdf import PdfReader

from app.clock import WITA
from printers import (
    CaseReceipt,
    TicketPrint,
    render_receipt_escpos,
    render_receipt_pdf,
    render_ticket_escpos,
    render_ticket_pdf,
)
from printers.data import receipt_to_json, ticket_to_json
from printers.escpos import COLUMNS, QR_MODULE

from .escpos_parser import parse, preview

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
MM = 72 / 25.4
TRACK = "http://127.0.0.1:8000/t/" + "3f" * 16

TICKET = TicketPrint(
    hall_name="Mini MPP Kota Bangun Darat", service_name="Kartu Keluarga (KK)",
    number="A023", issued_at=dt.datetime(2026, 11, 30, 9, 5, tzinfo=WITA),
    waiting_before=4, estimated_wait_minutes=20, track_url=TRACK,
    priority_label="Lanjut usia")
RECEIPT = CaseReceipt(
    hall_name="Mini MPP Tabang", tracking_code="KK7Q-M3XD-9P", service_name="Paspor",
    applicant_name="Siti Rahmawati", nik_masked="6402********0001",
    requirements_received=["KTP", "Kartu Keluarga", "Akta kelahiran, ijazah atau buku nikah"],
    received_at=dt.datetime(2026, 11, 30, 9, 30, tzinfo=WITA),
    expected_on=dt.date(2026, 12, 7), track_url="http://127.0.0.1:8000/lacak/KK7Q-M3XD-9P",
    officer_name="Operator Tabang")


def pdf_page(data: bytes):
    reader = PdfReader(io.BytesIO(data))
    assert len(reader.pages) == 1
    page = reader.pages[0]
    return page, page.extract_text()


@pytest.mark.parametrize("width", [58, 80])
def test_ticket_pdf_is_as_wide_as_the_roll_and_says_what_matters(width):
    page, text = pdf_page(render_ticket_pdf(TICKET, width))
    assert float(page.mediabox.width) == pytest.approx(width * MM, abs=0.01)
    assert float(page.mediabox.height) < 200 * MM  # fitted to content, not A4
    for expected in ("A023", "Mini MPP Kota Bangun Darat", "Kartu Keluarga (KK)",
                     "09:05 WITA", "Senin, 30 November 2026", "4 orang", "± 20 menit",
                     "PRIORITAS: Lanjut usia", "Queue number"):
        assert expected in text, expected


def test_ticket_pdf_height_follows_content():
    plain = dataclasses.replace(TICKET, priority_label=None)
    with_priority = pdf_page(render_ticket_pdf(TICKET))[0].mediabox.height
    without = pdf_page(render_ticket_pdf(plain))[0].mediabox.height
    assert float(with_priority) > float(without)
    assert "PRIORITAS" not in pdf_page(render_ticket_pdf(plain))[1]


def test_a_print_job_stored_in_utc_prints_wita():
    """The renderers print times as given; the app's worker hands them over in WITA,
    also for snapshots stored in UTC (before the renderers took local times)."""
    from types import SimpleNamespace

    from app.printing.worker import render_job
    kiosk = SimpleNamespace(paper_width=80, qr_mode="native")
    ticket = ticket_to_json(dataclasses.replace(
        TICKET, issued_at=dt.datetime(2026, 11, 30, 1, 5, tzinfo=dt.timezone.utc)))
    receipt = receipt_to_json(dataclasses.replace(
        RECEIPT, received_at=dt.datetime(2026, 11, 30, 1, 30, tzinfo=dt.timezone.utc)))
    printed_ticket = parse(render_job(SimpleNamespace(kind="ticket", data=ticket,
                                                      kiosk=kiosk))).text()
    printed_receipt = parse(render_job(SimpleNamespace(kind="receipt", data=receipt,
                                                       kiosk=kiosk))).text()
    assert "09:05 WITA" in printed_ticket and "09:30 WITA" in printed_receipt


def test_nobody_ahead_reads_as_called_soon():
    first = dataclasses.replace(TICKET, waiting_before=0, estimated_wait_minutes=0)
    assert "segera dipanggil" in pdf_page(render_ticket_pdf(first))[1]


@pytest.mark.parametrize("width", [58, 80])
def test_receipt_pdf(width):
    page, text = pdf_page(render_receipt_pdf(RECEIPT, width))
    assert float(page.mediabox.width) == pytest.approx(width * MM, abs=0.01)
    for expected in ("TANDA TERIMA BERKAS", "KK7Q-M3XD-9P", "Paspor", "Siti Rahmawati",
                     "6402********0001", "Akta kelahiran", "7 Desember",
                     "09:30 WITA", "Operator Tabang"):
        assert expected in text, expected


def test_receipt_never_prints_a_full_nik_even_if_given_one():
    careless = dataclasses.replace(RECEIPT, nik_masked="6402011204900001")
    _, text = pdf_page(render_receipt_pdf(careless))
    assert "6402011204900001" not in text and "6402********0001" in text
    assert b"6402011204900001" not in render_receipt_escpos(careless)


def test_names_outside_latin1_embed_a_unicode_font():
    receipt = dataclasses.replace(RECEIPT, applicant_name="Nguyễn Thị Ánh")
    data = render_receipt_pdf(receipt)
    assert "Nguyễn Thị Ánh" in pdf_page(data)[1]
    assert b"FontFile2" in data  # an embedded TrueType font
    assert b"FontFile2" not in render_receipt_pdf(RECEIPT)  # Latin-1: standard fonts


def test_bad_width_is_refused():
    with pytest.raises(ValueError):
        render_ticket_pdf(TICKET, 70)
    with pytest.raises(ValueError):
        render_ticket_escpos(TICKET, 70)


@pytest.mark.parametrize("width", [58, 80])
def test_ticket_escpos_init_number_qr_cut(width):
    out = parse(render_ticket_escpos(TICKET, width))
    assert out.commands[0] == ("init", None)
    assert out.commands[-1][0] == "cut"
    number = [line for line in out.lines if line[0] == "A023"]
    assert number and number[0][1] >= 4 and number[0][2] >= 4, "the number is large"
    assert number[0][1] * 12 * len("A023") <= {58: 384, 80: 576}[width]
    assert out.qr_data == [TRACK] and out.qr_printed == 1
    text = out.text()
    for expected in ("Mini MPP Kota Bangun Darat", "Kartu Keluarga (KK)", "09:05 WITA",
                     "4 orang", "± 20 menit", "PRIORITAS: Lanjut usia"):
        assert expected in text, expected
    for line, w, _h, _bold in out.lines:  # nothing runs past the paper
        assert len(line) * w <= max(COLUMNS[width], 64), line


def test_escpos_raster_fallback_is_the_same_qr():
    width = 80
    out = parse(render_ticket_escpos(TICKET, width, qr="raster"))
    assert out.qr_data == [] and ("qr", 0x50) not in out.commands
    assert len(out.rasters) == 1
    xw, yh, bits = out.rasters[0]
    assert xw * 8 == 576
    module = QR_MODULE[width]
    matrix = segno.make(TRACK, error="m", micro=False).matrix
    n = len(matrix)
    assert yh == (n + 8) * module
    left = (576 - n * module) // 2

    def dot(x, y):
        return bool(bits[y * xw + x // 8] & (0x80 >> (x % 8)))
    decoded = [[dot(left + c * module + module // 2, (4 + r) * module + module // 2)
                for c in range(n)] for r in range(n)]
    assert decoded == [[bool(v) for v in row] for row in matrix]
    assert out.commands[-1][0] == "cut"


def test_receipt_escpos():
    out = parse(render_receipt_escpos(RECEIPT, 58))
    assert out.commands[0] == ("init", None) and out.commands[-1][0] == "cut"
    text = out.text()
    assert "KK7Q-M3XD-9P" in text and "6402********0001" in text
    assert "[x] KTP" in text and out.qr_data == [RECEIPT.track_url]


@pytest.mark.skipif(not shutil.which("pdftoppm"), reason="poppler-utils not installed")
def test_render_to_png_for_a_person_to_look_at():
    ARTIFACTS.mkdir(exist_ok=True)
    for name, data in [("ticket-80", render_ticket_pdf(TICKET, 80)),
                       ("ticket-58", render_ticket_pdf(TICKET, 58)),
                       ("receipt-80", render_receipt_pdf(RECEIPT, 80)),
                       ("receipt-58", render_receipt_pdf(RECEIPT, 58))]:
        pdf = ARTIFACTS / f"{name}.pdf"
        pdf.write_bytes(data)
        subprocess.run(["pdftoppm", "-png", "-r", "203", "-singlefile", str(pdf),
                        str(ARTIFACTS / name)], check=True)
        png = ARTIFACTS / f"{name}.png"
        assert png.stat().st_size > 10_000
    for name, data, dots in [
            ("ticket-80-escpos", render_ticket_escpos(TICKET, 80), 576),
            ("ticket-58-escpos-raster", render_ticket_escpos(TICKET, 58, qr="raster"), 384),
            ("receipt-80-escpos", render_receipt_escpos(RECEIPT, 80), 576)]:
        preview(data, dots).save(ARTIFACTS / f"{name}.png")


def test_snapshots_round_trip_through_json():
    import json

    from printers.data import receipt_from_json, receipt_to_json, ticket_from_json, ticket_to_json
    assert ticket_from_json(json.loads(json.dumps(ticket_to_json(TICKET)))) == TICKET
    assert receipt_from_json(json.loads(json.dumps(receipt_to_json(RECEIPT)))) == RECEIPT
