"""A citizen taps a service on the kiosk; an operator calls that number from the console.
Real gunicorn, real Chromium."""
import pytest

from .browser import chromium, screenshot
from .servers import Server

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with Server(tmp_path_factory.mktemp("browser-queue"), workers=2) as server:
        yield server


def test_kiosk_ticket_is_called_from_the_console(server):
    with chromium() as browser:
        kiosk = browser.new_page(viewport={"width": 1920, "height": 1080})
        kiosk.goto(server.url + "/k/tabang")
        screenshot(kiosk, "kiosk-start")
        kiosk.get_by_role("button", name="KTP Elektronik").click()
        number = kiosk.locator("[data-number]")
        number.wait_for()
        issued = number.inner_text().strip()
        assert issued == "A001"
        assert "orang di depan Anda" in kiosk.locator(".kiosk-result").inner_text()
        screenshot(kiosk, "kiosk-ticket")

        console = browser.new_page(viewport={"width": 1366, "height": 768})
        console.goto(server.url + "/loket")
        console.fill("input[name=username]", "operator.tabang")
        console.fill("input[name=password]", "demo")
        console.get_by_role("button", name="Masuk").click()
        console.get_by_role("button", name="Loket 1 Kependudukan").click()
        console.locator("#console-waiting [data-number='A001']").wait_for()
        console.get_by_role("button", name="Panggil berikutnya").click()
        console.locator(".current[data-current='A001']").wait_for()
        screenshot(console, "console-called")
        console.get_by_role("button", name="Mulai layani").click()
        console.get_by_role("button", name="Selesai dilayani").click()
        console.locator(".current[data-current='']").wait_for()

        # The kiosk went back to its start screen by itself? Not yet (20 s); tap Selesai.
        kiosk.get_by_role("button", name="Selesai").click()
        kiosk.get_by_role("button", name="KTP Elektronik").wait_for()
