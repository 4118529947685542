"""The operator opens a case in a real browser: console -> Buka berkas -> case page with
an htmx upload -> the public tracking page."""
import shutil

import pytest
import requests

from .casekit import NIK, pdf_bytes
from .servers import Server
from .test_cases_sync import auth, wait_for

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_buka_berkas_in_the_browser(tmp_path):
    from playwright.sync_api import sync_playwright
    with Server(tmp_path / "aio", workers=1, threads=4,
                env={"SYNC_INTERVAL_SECONDS": "0.3"}) as server:
        operator = auth(server, "operator.tabang")
        requests.post(f"{server.url}/api/v1/sites/tabang/tickets",
                      json={"service": "ADM-KK"}, timeout=10).raise_for_status()
        ticket = requests.post(f"{server.url}/api/v1/sites/tabang/counters/L1/call-next",
                               headers=operator, timeout=10).json()["ticket"]
        requests.post(f"{server.url}/api/v1/tickets/{ticket['id']}/start", headers=operator,
                      timeout=10).raise_for_status()
        scan = tmp_path / "scan.pdf"
        scan.write_bytes(pdf_bytes())
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=[
                "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
            try:
                page = browser.new_page()
                problems = []
                page.on("pageerror", lambda exc: problems.append(str(exc)))
                page.on("console", lambda m: problems.append(m.text)
                        if m.type == "error" and "favicon" not in m.text
                        and "404" not in m.text else None)
                page.goto(server.url + "/loket/masuk")
                page.fill("input[name=username]", "operator.tabang")
                page.fill("input[name=password]", "demo")
                page.click("button[type=submit]")
                page.goto(server.url + "/loket/tabang/L1")
                page.click("text=Buka berkas")
                page.fill("input[name=name]", "Siti Rahmah")
                page.fill("input[name=nik]", NIK)
                page.check("input[value='Formulir F-1.01']")
                page.click("button.primary[type=submit]")
                code = page.get_attribute("[data-tracking-code]", "data-tracking-code")
                assert code and NIK not in page.content()
                page.set_input_files("input[type=file]", str(scan))
                page.click("text=Unggah")
                page.wait_for_selector("text=scan.pdf")
                wait_for(lambda: requests.get(f"{server.url}/api/v1/track/{code}",
                                              timeout=10).json()["status"] == "forwarded", 30)
                page.goto(f"{server.url}/lacak/{code}")
                assert page.get_attribute("[data-case-status]",
                                          "data-case-status") == "forwarded"
                assert "Siti" not in page.content() and NIK not in page.content()
                assert problems == []
            finally:
                browser.close()
