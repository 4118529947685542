"""The supervisor of Tabang opens this month's report, reads the headline figures and a
chart, narrows it to one day with the form (htmx) and downloads the workbook, which
says the same, and the month's PDF. Real gunicorn, real Chromium."""
import io

import openpyxl
import pytest
import requests
from pypdf import PdfReader

from .browser import chromium, screenshot, sign_in
from .servers import Server

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def a_morning(server):
    """Three tickets at Tabang: two served at L1, one still waiting."""
    for _ in range(3):
        r = requests.post(server.url + "/api/v1/sites/tabang/tickets",
                          json={"service": "ADM-KTP"}, timeout=10)
        assert r.status_code == 201, r.text
    auth = {"Authorization": f"Bearer {server.token('operator.tabang')}"}
    for _ in range(2):
        called = requests.post(server.url + "/api/v1/sites/tabang/counters/L1/call-next",
                               headers=auth, timeout=10).json()["ticket"]
        for step, body in (("start", None), ("finish", {"outcome": "completed"})):
            r = requests.post(f"{server.url}/api/v1/tickets/{called['id']}/{step}",
                              json=body, headers=auth, timeout=10)
            assert r.status_code == 200, r.text


def test_the_supervisor_reads_and_downloads_the_months_report(tmp_path):
    with Server(tmp_path / "server", workers=1, threads=4) as server, \
            chromium() as browser:
        a_morning(server)
        page = browser.new_page(viewport={"width": 1366, "height": 768},
                                accept_downloads=True)
        sign_in(page, server.url, "supervisor.tabang")
        page.goto(server.url + "/laporan")
        assert page.locator("h2").first.inner_text().startswith("1-30 November 2026")
        assert page.locator("[data-kpi=arrived]").inner_text() == "3"
        assert page.locator("[data-kpi=served]").inner_text() == "2"
        chart = page.locator("figure.chart img").first
        assert chart.get_attribute("src").startswith("data:image/svg+xml;base64,")
        assert chart.evaluate("img => img.complete && img.naturalWidth") == 720
        assert page.locator("table.heat td.heat-5").count() == 1
        screenshot(page, "report-month")

        # One day, through the form: htmx swaps the report and pushes the address.
        page.select_option("select[name=period]", "day")
        page.fill("input[name=from]", "2026-11-30")
        page.get_by_role("button", name="Tampilkan").click()
        page.wait_for_url("**/laporan?period=day*")
        page.locator("h2", has_text="30 November 2026").first.wait_for()
        assert page.locator("[data-kpi=served]").inner_text() == "2"

        with page.expect_download() as info:
            page.get_by_role("link", name="Unduh Excel").click()
        download = info.value
        assert download.suggested_filename == "laporan-tabang-2026-11-30_2026-11-30.xlsx"
        path = tmp_path / download.suggested_filename
        download.save_as(path)
        book = openpyxl.load_workbook(path)
        totals = {row[0]: row[1] for row in book["Ringkasan"].iter_rows(min_row=3,
                                                                        values_only=True)}
        assert (totals["Datang"], totals["Dilayani"]) == (3, 2)

        # The month's PDF from the report's own link, in the signed-in browser session.
        link = page.get_by_role("link", name="Laporan bulanan PDF")
        assert "month=2026-11" in link.get_attribute("href")
        answer = page.request.get(server.url + link.get_attribute("href"))
        assert answer.status == 200 and answer.headers["content-type"] == "application/pdf"
        text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(answer.body())).pages)
        assert "LAPORAN BULANAN PELAYANAN" in text and "November 2026" in text
        assert "Mini MPP Tabang" in text
        assert "Traceback" not in server.log()
