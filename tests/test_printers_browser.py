"""The kiosk in Chromium with a network printer that is off, then on: the screen keeps
the number and QR code while the job waits, then says the ticket is printed."""
import shutil
import time

import pytest
import requests

from .fake_printer import FakePrinter
from .servers import Server, free_port
from .test_printers_server import token_of

pytestmark = [pytest.mark.slow, pytest.mark.browser]


def test_kiosk_screen_follows_the_printer(tmp_path):
    playwright = pytest.importorskip("playwright.sync_api")
    if not shutil.which("chromium"):
        pytest.skip("chromium not installed")
    port = free_port()
    with Server(tmp_path, workers=1, threads=4,
                env={"PRINT_RETRY_MAX_SECONDS": "1"}) as server:
        admin = requests.Session()
        page = admin.get(server.url + "/loket/masuk", timeout=10).text
        admin.post(server.url + "/loket/masuk", timeout=10, data={
            "username": "admin", "password": "demo", "csrf_token": token_of(page)})
        form = admin.get(server.url + "/admin/lokasi/tabang/perangkat/kiosk/k1", timeout=10).text
        r = admin.post(server.url + "/admin/lokasi/tabang/perangkat/kiosk/k1", timeout=10, data={
            "csrf_token": token_of(form), "code": "k1", "name": "Kiosk 1",
            "print_mode": "escpos-network", "host": "127.0.0.1", "port": str(port),
            "paper_width": "58", "qr_mode": "raster", "active": "on"})
        assert r.ok
        with playwright.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=[
                "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
            try:
                kiosk = browser.new_page()
                kiosk.goto(server.url + "/k/tabang?kiosk=k1")
                kiosk.click("button[value=ADM-KTP]")
                kiosk.wait_for_selector("text=Printer belum siap", timeout=15000)
                time.sleep(2.5)                  # a few polls later: still the ticket
                assert kiosk.inner_text("[data-number]") == "A001"
                assert kiosk.get_attribute(".screen-qr img", "src").startswith(
                    "data:image/svg+xml")
                with FakePrinter(port=port) as printer:
                    kiosk.wait_for_selector("text=Tiket tercetak", timeout=15000)
                    assert printer.wait_for_jobs(1)
                assert len(printer.jobs) == 1
                assert kiosk.inner_text("[data-number]") == "A001"
            finally:
                browser.close()
