"""The case receipt (tanda terima): the plain data the printer takes, and a call into
`printers.render_receipt_pdf` (the printing feature) imported lazily, with a small
fallback until that renderer is present on this branch."""
import datetime as dt
import io

from flask import current_app, url_for

from .clock import to_local
from .domain.nik import mask_nik
from .models_cases import Case


def track_url(code: str) -> str:
    """Where a citizen follows the case from home: at a hall the public address is the
    centre's (the hall's own server is only on its LAN)."""
    app = current_app
    central = app.config["SETTINGS"]["CENTRAL_URL"].rstrip("/")
    if app.config["MPP_ROLE"] == "site" and central:
        return central + url_for("cases.track_case", code=code)
    return url_for("cases.track_case", code=code, _external=True)


def receipt_data(case: Case, now: dt.datetime):
    from printers.data import CaseReceipt
    received = case.received_at.replace(tzinfo=dt.timezone.utc)
    return CaseReceipt(
        hall_name=case.site.name, tracking_code=case.tracking_code,
        service_name=case.service.name, applicant_name=case.applicant_name,
        nik_masked=mask_nik(case.applicant_nik),
        requirements_received=[r["item"] for r in case.requirements if r.get("received")],
        received_at=received, expected_on=None, track_url=track_url(case.tracking_code),
        officer_name=case.opened_by)


def receipt_pdf(case: Case, now: dt.datetime) -> bytes:
    data = receipt_data(case, now)
    try:
        from printers import render_receipt_pdf
    except ImportError:
        return _fallback_pdf(data)
    return render_receipt_pdf(data, width_mm=80)


def _fallback_pdf(data) -> bytes:
    """A plain 80 mm receipt with the QR code, until the printers package has its own."""
    import segno
    from reportlab.lib.units import mm
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    lines = [data.hall_name, "TANDA TERIMA BERKAS / Case receipt", "",
             f"Kode lacak: {data.tracking_code}", f"Layanan: {data.service_name}",
             f"Pemohon: {data.applicant_name}", f"NIK: {data.nik_masked}",
             "Diterima: " + to_local(data.received_at).strftime("%d-%m-%Y %H:%M WITA"), "",
             "Persyaratan diterima:"] + [f"- {item[:40]}" for item in data.requirements_received]
    lines += ["", "Lacak status di / Track at:", data.track_url,
              f"Petugas: {data.officer_name}"]
    height = (len(lines) * 5 + 60) * mm
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=(80 * mm, height))
    pdf.setTitle(f"Tanda terima {data.tracking_code}")
    y = height - 8 * mm
    for line in lines:
        pdf.setFont("Helvetica-Bold" if line.startswith("Kode") else "Helvetica", 8)
        pdf.drawString(4 * mm, y, line[:60])
        y -= 5 * mm
    png = io.BytesIO()
    segno.make(data.track_url, error="m").save(png, kind="png", scale=4, border=1)
    png.seek(0)
    pdf.drawImage(ImageReader(png), 20 * mm, y - 40 * mm, 40 * mm, 40 * mm)
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()

