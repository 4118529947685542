"""Printing over HTTP: the API's PDF and ESC/POS, the kiosk screen, the citizen's live
page, the supervisor's printer page and the kiosk settings."""
import io
import re

import pytest
from pypdf import PdfReader

from app.models import AuditEntry, Kiosk, PrintJob, Site

from .escpos_parser import parse
from .pages import csrf_from, logged_in

MM = 72 / 25.4


def kiosk_post(client, path, data=None, kiosk=None):
    page = client.get("/k/tabang" + (f"?kiosk={kiosk}" if kiosk else ""))
    token = csrf_from(page.get_data(as_text=True))
    return client.post(path, data=data or {}, headers={"HX-Request": "true",
                                                       "X-CSRFToken": token})


def take(client, kiosk=None, service="ADM-KTP"):
    path = "/k/tabang/tickets" + (f"?kiosk={kiosk}" if kiosk else "")
    return kiosk_post(client, path, {"service": service, "priority_group": ""}, kiosk)


def set_mode(code="k1", **values):
    site = Site.get(Site.code == "tabang")
    Kiosk.update(**values).where((Kiosk.site == site) & (Kiosk.code == code)).execute()


def ticket_id(html):
    return re.search(r'data-ticket="([0-9a-f]{32})"', html).group(1)


# --- API ---------------------------------------------------------------------------

def issue_api(api):
    r = api.post("/api/v1/sites/tabang/tickets", json={"service": "ADM-KTP"})
    assert r.status_code == 201
    return r.json


def test_ticket_pdf_endpoint(api):
    ticket = issue_api(api)
    r = api.get(f"/api/v1/tickets/{ticket['id']}/ticket.pdf?width=58")
    assert r.status_code == 200 and r.mimetype == "application/pdf"
    page = PdfReader(io.BytesIO(r.data)).pages[0]
    assert float(page.mediabox.width) == pytest.approx(58 * MM, abs=0.01)
    text = page.extract_text()
    assert ticket["number"] in text and "Mini MPP Tabang" in text
    default = PdfReader(io.BytesIO(api.get(f"/api/v1/tickets/{ticket['id']}/ticket.pdf").data))
    assert float(default.pages[0].mediabox.width) == pytest.approx(80 * MM, abs=0.01)


def test_ticket_escpos_endpoint(api):
    ticket = issue_api(api)
    r = api.get(f"/api/v1/tickets/{ticket['id']}/ticket.escpos")
    assert r.status_code == 200 and r.mimetype == "application/octet-stream"
    out = parse(r.data)
    assert out.commands[0][0] == "init" and out.commands[-1][0] == "cut"
    assert ticket["number"] in out.text() and out.qr_data == [ticket["track_url"]]
    raster = parse(api.get(f"/api/v1/tickets/{ticket['id']}/ticket.escpos?qr=raster&width=58").data)
    assert raster.qr_data == [] and raster.rasters[0][0] * 8 == 384


def test_width_of_the_kiosk_is_used(api, db):
    set_mode(paper_width=58)
    ticket = issue_api(api)
    r = api.get(f"/api/v1/tickets/{ticket['id']}/ticket.pdf?kiosk=k1")
    assert float(PdfReader(io.BytesIO(r.data)).pages[0].mediabox.width) == pytest.approx(
        58 * MM, abs=0.01)


@pytest.mark.parametrize("query, status, code", [
    ("?width=70", 422, "invalid_width"), ("?width=abc", 422, "invalid_width"),
    ("?qr=laser", 422, "invalid_qr_mode"), ("?kiosk=nope", 404, "unknown_kiosk")])
def test_ticket_print_endpoints_refuse_bad_queries(api, query, status, code):
    ticket = issue_api(api)
    for kind in ("pdf", "escpos"):
        r = api.get(f"/api/v1/tickets/{ticket['id']}/ticket.{kind}{query}")
        assert r.status_code == status and r.json["error"]["code"] == code


def test_unknown_ticket_is_a_json_404(api):
    for path in ("/api/v1/tickets/" + "0" * 32 + "/ticket.pdf",
                 "/api/v1/tickets/nonsense/ticket.escpos"):
        r = api.get(path)
        assert r.status_code == 404 and r.json["error"]["code"] == "unknown_ticket"


def test_openapi_lists_the_print_routes(api):
    paths = api.get("/api/v1/openapi.json").json["paths"]
    assert "get" in paths["/api/v1/tickets/{id}/ticket.pdf"]
    assert "get" in paths["/api/v1/tickets/{id}/ticket.escpos"]


# --- kiosk -------------------------------------------------------------------------

def test_browser_kiosk_shows_number_qr_and_prints_html(client):
    r = take(client)
    html = r.get_data(as_text=True)
    assert r.status_code == 201
    assert 'src="data:image/svg+xml' in html            # the QR fallback on screen
    assert "data-autoprint" in html and 'class="paper paper-80"' in html
    assert "style=" not in html                          # the CSP forbids inline styles
    assert "<script" not in html


def test_pdf_kiosk_offers_the_pdf(client, db):
    set_mode(print_mode="browser-pdf")
    html = take(client).get_data(as_text=True)
    tid = ticket_id(html)
    assert f"/api/v1/tickets/{tid}/ticket.pdf?kiosk" not in html  # no kiosk code given
    assert f"/api/v1/tickets/{tid}/ticket.pdf" in html and "data-autoprint" not in html


def test_network_kiosk_queues_a_job_and_reports_its_status(client, db):
    site = Site.get(Site.code == "tabang")
    Kiosk.create(site=site, code="lobby", name="Lobby", print_mode="escpos-network",
                 host="127.0.0.1", port=9, paper_width=58)
    r = take(client, kiosk="lobby")
    html = r.get_data(as_text=True)
    assert r.status_code == 201 and "Mencetak tiket" in html
    tid = ticket_id(html)
    job = PrintJob.get(PrintJob.ticket == tid)
    assert job.status == "pending" and job.kiosk.code == "lobby"
    assert job.data["number"] in html
    status = client.get(f"/k/tabang/tickets/{tid}/print-status?kiosk=lobby")
    assert "every 2s" in status.get_data(as_text=True)
    PrintJob.update(status="printed").where(PrintJob.id == job.id).execute()
    status = client.get(f"/k/tabang/tickets/{tid}/print-status?kiosk=lobby")
    assert "tercetak" in status.get_data(as_text=True) and "every 2s" not in status.get_data(
        as_text=True)
    # Print again, twice; the third time the kiosk sends the citizen to the staff.
    for _ in range(2):
        r = kiosk_post(client, f"/k/tabang/tickets/{tid}/reprint?kiosk=lobby", kiosk="lobby")
        assert r.status_code == 200
    r = kiosk_post(client, f"/k/tabang/tickets/{tid}/reprint?kiosk=lobby", kiosk="lobby")
    assert r.status_code == 409 and "petugas" in r.get_data(as_text=True)
    assert PrintJob.select().where(PrintJob.ticket == tid).count() == 3


def test_unknown_kiosk_code_is_a_message_not_a_ticket(client):
    r = take(client, kiosk="ghost")
    assert r.status_code == 404 and "tidak dikenal" in r.get_data(as_text=True)


def test_browser_reprint_prints_again(client):
    tid = ticket_id(take(client).get_data(as_text=True))
    r = kiosk_post(client, f"/k/tabang/tickets/{tid}/reprint")
    assert r.status_code == 200 and "data-autoprint" in r.get_data(as_text=True)


def test_reprint_of_another_halls_ticket_is_404(client, api):
    other = api.post("/api/v1/sites/anggana/tickets", json={"service": "ADM-KTP"}).json
    r = kiosk_post(client, f"/k/tabang/tickets/{other['id']}/reprint")
    assert r.status_code == 404


# --- the citizen's page --------------------------------------------------------------

def test_live_ticket_page_polls_and_shows_the_counter_when_called(client, api):
    ticket = issue_api(api)
    page = client.get(f"/t/{ticket['id']}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'hx-trigger="every 15s"' in html
    assert "Anda berikutnya" in html and page.headers["Cache-Control"] == "no-store"
    partial = client.get(f"/t/{ticket['id']}", headers={"HX-Request": "true"})
    body = partial.get_data(as_text=True)
    assert "<html" not in body and len(body) < 2000
    api.login("operator.tabang")
    assert api.post("/api/v1/sites/tabang/counters/L1/call-next").status_code == 200
    body = client.get(f"/t/{ticket['id']}", headers={"HX-Request": "true"}).get_data(
        as_text=True)
    assert "Silakan menuju" in body and "Loket 1 Kependudukan" in body
    api.post(f"/api/v1/tickets/{ticket['id']}/finish", json={"outcome": "completed"})
    body = client.get(f"/t/{ticket['id']}", headers={"HX-Request": "true"}).get_data(
        as_text=True)
    assert "Selesai dilayani" in body and "hx-trigger" not in body  # polling stops


def test_live_ticket_page_counts_people_ahead(client, api):
    issue_api(api)  # one ahead
    second = issue_api(api)
    body = client.get(f"/t/{second['id']}", headers={"HX-Request": "true"}).get_data(
        as_text=True)
    assert "<strong>1</strong> orang di depan Anda" in body
    assert client.get("/t/" + "0" * 32).status_code == 404


# --- supervisor and admin ----------------------------------------------------------

# The printer pages live on the hall's devices page in the administration
# (/admin/lokasi/<site>/perangkat); /printers/<site>... redirect there.
DEVICES = "/admin/lokasi/tabang/perangkat"


@pytest.mark.parametrize("user, status", [
    ("supervisor.tabang", 200), ("admin", 200), ("supervisor.anggana", 403),
    ("operator.tabang", 403)])
def test_printer_page_is_for_the_halls_supervisor_and_admin(client, user, status):
    logged_in(client, user)
    assert client.get(DEVICES).status_code == status
    assert client.get(f"{DEVICES}/kiosk/k1").status_code == status


def test_printer_page_needs_login(client):
    r = client.get(DEVICES)
    assert r.status_code == 302 and "/loket/masuk" in r.headers["Location"]


def test_old_printer_addresses_redirect_to_the_devices_page(client):
    for old, new in [("/printers/tabang", DEVICES),
                     ("/printers/tabang/kiosks/new", f"{DEVICES}/kiosk/baru"),
                     ("/printers/tabang/kiosks/k1", f"{DEVICES}/kiosk/k1")]:
        r = client.get(old)
        assert r.status_code == 308 and r.headers["Location"].endswith(new), old
    token = csrf_from(client.get("/loket/masuk").get_data(as_text=True))
    r = client.post("/printers/tabang/jobs/7/retry",  # 308: the POST stays a POST
                    data={"csrf_token": token})
    assert r.status_code == 308
    assert r.headers["Location"].endswith(f"{DEVICES}/printer/7/cetak-ulang")


def test_supervisor_sees_a_failed_job_and_reprints_it(client, db):
    site = Site.get(Site.code == "tabang")
    kiosk = Kiosk.create(site=site, code="lobby", name="Lobby", print_mode="escpos-network",
                         host="127.0.0.1", port=9, printer_state="error",
                         printer_error="Kertas printer habis.")
    tid = ticket_id(take(client, kiosk="lobby").get_data(as_text=True))
    job = PrintJob.get(PrintJob.ticket == tid)
    PrintJob.update(status="failed", last_error="Kertas printer habis.").where(
        PrintJob.id == job.id).execute()
    logged_in(client, "supervisor.tabang")
    html = client.get(DEVICES).get_data(as_text=True)
    assert job.data["number"] in html and "Kertas printer habis." in html
    assert "bermasalah" in html and kiosk.name in html
    r = client.post(f"{DEVICES}/printer/{job.id}/cetak-ulang",
                    data={"csrf_token": csrf_from(html)})
    assert r.status_code == 303
    assert PrintJob.get_by_id(job.id).status == "pending"
    r = client.post(f"{DEVICES}/printer/999999/cetak-ulang",
                    data={"csrf_token": csrf_from(html)})
    assert r.status_code == 404


def test_edit_a_kiosk(client, db):
    logged_in(client, "supervisor.tabang")
    form = client.get(f"{DEVICES}/kiosk/k1").get_data(as_text=True)
    data = {"csrf_token": csrf_from(form), "code": "k1", "name": "Kiosk Lobi",
            "print_mode": "escpos-network", "host": "192.168.10.40", "port": "9100",
            "paper_width": "58", "qr_mode": "raster", "active": "on"}
    r = client.post(f"{DEVICES}/kiosk/k1", data=data)
    assert r.status_code == 303
    kiosk = Kiosk.get((Kiosk.site == Site.get(Site.code == "tabang")) & (Kiosk.code == "k1"))
    assert (kiosk.print_mode, kiosk.host, kiosk.paper_width, kiosk.qr_mode) == (
        "escpos-network", "192.168.10.40", 58, "raster")
    entry = AuditEntry.get(AuditEntry.action == "kiosk.update")
    assert (entry.actor, entry.site_code, entry.object) == (
        "supervisor.tabang", "tabang", "kiosk tabang/k1")
    assert entry.after["host"] == "192.168.10.40" and "code" not in entry.after
    r = client.post(f"{DEVICES}/kiosk/k1", data={**data, "host": "bad host;rm"})
    assert r.status_code == 422 and "tidak valid" in r.get_data(as_text=True)
    r = client.post(f"{DEVICES}/kiosk/_new", data={**data, "code": "k2"})
    assert r.status_code == 303
    assert AuditEntry.select().where(AuditEntry.action == "kiosk.create").count() == 1
    r = client.post(f"{DEVICES}/kiosk/_new", data={**data, "code": "k2"})
    assert r.status_code == 409
    assert client.get(f"{DEVICES}/kiosk/baru").status_code == 200
    again = client.get(f"{DEVICES}/kiosk/_new")  # the form's action, reopened
    assert again.status_code == 302 and again.headers["Location"].endswith("/kiosk/baru")
    assert client.get(f"{DEVICES}/kiosk/nope").status_code == 404
