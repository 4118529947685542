"""A citizen books on a cheap phone (360x740), sees the QR code, and checks in at the
hall's kiosk. Real gunicorn, Debian's Chromium; screenshots in test-artifacts/."""
import re
import shutil
from pathlib import Path

import pytest

from .servers import ROOT, Server

ARTIFACTS = ROOT / "test-artifacts"
NIK = "6402124508900001"  # a woman born 5 August 1990, Tabang


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=shutil.which("chromium"), args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        yield chromium
        chromium.close()


def shot(page, name):
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"booking-{name}.png"), full_page=True)


def watch_console(page, problems):
    """Script errors and CSP violations; 4xx answers we provoke on purpose are fine."""
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" and not
            m.text.startswith("Failed to load resource") else None)
    page.on("pageerror", lambda e: problems.append(str(e)))


@pytest.mark.slow
@pytest.mark.browser
def test_book_on_a_phone_then_check_in_at_the_kiosk(tmp_path: Path, browser):
    problems = []
    with Server(tmp_path / "data", workers=2, threads=8) as server:
        phone = browser.new_context(viewport={"width": 360, "height": 740},
                                    device_scale_factor=2, is_mobile=True, has_touch=True,
                                    locale="id-ID")
        page = phone.new_page()
        watch_console(page, problems)
        page.goto(server.url + "/booking")
        shot(page, "1-halls")
        page.get_by_role("link", name=re.compile("Mini MPP Tabang")).click()
        page.wait_for_selector(".bk-service")
        assert page.get_by_text("Berusia 17 tahun").is_visible()  # requirements up front
        shot(page, "2-services")
        page.get_by_role("link", name=re.compile("KTP Elektronik")).click()
        page.wait_for_selector(".bk-reqbox")
        assert page.locator(".bk-reqbox").get_by_text("Berusia 17 tahun").is_visible()
        assert page.get_by_text("Sabtu, 5 Desember").count() == 0  # closed days left out
        shot(page, "3-dates")
        page.get_by_role("link", name=re.compile("Senin, 30 November")).click()
        assert page.locator("input[name=start][value='08:30']").count() == 0  # past
        page.locator("label.bk-slot", has_text="09:30").click()
        page.get_by_label("Nama lengkap").fill("Siti Aminah")
        page.get_by_label("NIK").fill("6402 1245 0890 000")  # one digit short
        page.get_by_label("Nomor HP").fill("0812 3456 7890")
        shot(page, "4-form")
        page.get_by_role("button", name="Pesan janji temu").click()
        assert page.get_by_text("NIK harus 16 angka").is_visible()
        assert page.locator("label.bk-slot:has(input:checked)").inner_text().startswith(
            "09:30")  # the chosen slot is kept
        shot(page, "5-form-error")
        page.get_by_label("NIK").fill(NIK)
        page.get_by_role("button", name="Pesan janji temu").click()

        page.wait_for_selector("[data-code]")
        assert "berhasil dibuat" in page.content()
        code = page.locator("[data-code]").get_attribute("data-code")
        assert NIK not in page.content() and NIK not in page.url
        qr = page.locator("img.bk-qr")
        assert qr.get_attribute("src").startswith("data:image/svg+xml")
        assert qr.evaluate("img => img.complete && img.naturalWidth > 0")
        box = qr.bounding_box()
        assert box["width"] >= 200 and box["x"] >= 0 and box["x"] + box["width"] <= 360
        # Nothing sticks out sideways on a 360-pixel screen.
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
        shot(page, "6-code-and-qr")

        kiosk = browser.new_context(viewport={"width": 1280, "height": 1024}).new_page()
        watch_console(kiosk, problems)
        kiosk.goto(server.url + "/k/tabang")
        shot(kiosk, "7-kiosk-start")
        kiosk.get_by_text("Sudah punya janji temu?").click()
        kiosk.wait_for_selector("[data-keypad]")
        for char in code:
            kiosk.locator(f"[data-key='{char}']").click()
        assert kiosk.locator("[data-code-input]").input_value() == code
        shot(kiosk, "7b-kiosk-typed")
        kiosk.get_by_role("button", name="Check-in", exact=True).click()
        kiosk.wait_for_selector("[data-appointment]")
        assert "Janji temu pukul 09:30" in kiosk.locator("[data-appointment]").inner_text()
        assert kiosk.locator("[data-number]").inner_text() == "A001"
        shot(kiosk, "8-kiosk-ticket")

        # A second try with the scanned QR text (a URL ending in the code) is refused.
        kiosk.goto(server.url + "/k/tabang/check-in")
        kiosk.locator("[data-code-input]").fill(f"{server.url}/booking/janji/{code}")
        kiosk.locator("[data-code-input]").press("Enter")
        kiosk.wait_for_selector("[data-error=already_checked_in]")
        shot(kiosk, "9-kiosk-already")

        page.reload()
        assert "Sudah check-in" in page.content() and "A001" in page.content()
        shot(page, "10-after-check-in")
    assert problems == []
