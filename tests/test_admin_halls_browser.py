"""The supervisor of Tabang adds counter L9 "Loket 9" serving two services in a chosen
order, and the console's counter choice offers L9 with its services in that order.
Real gunicorn, real Chromium."""
import pytest

from .browser import chromium, screenshot, sign_in
from .servers import Server

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_supervisor_adds_a_counter_and_the_console_offers_it(tmp_path):
    with Server(tmp_path, workers=1, threads=4) as server, chromium() as browser:
        page = browser.new_page(viewport={"width": 1366, "height": 768})
        sign_in(page, server.url, "supervisor.tabang")
        page.wait_for_url("**/loket/")

        page.goto(server.url + "/admin/lokasi")
        assert page.locator("tr[id^=hall-]").count() == 1  # only their own hall
        page.locator("#hall-tabang").get_by_role("link", name="Loket").click()
        page.get_by_role("link", name="Tambah loket").click()
        page.fill("input[name=code]", "L9")
        page.fill("input[name=name]", "Loket 9")
        page.fill("input[name=number]", "9")
        # Informasi first, then KTP: not the page's (prefix) order.
        page.check("input[name=services][value=ADM-KTP]")
        page.fill("input[name='position-ADM-KTP']", "2")
        page.check("input[name=services][value=INFO]")
        page.fill("input[name='position-INFO']", "1")
        screenshot(page, "admin-counter-new")
        page.get_by_role("button", name="Simpan").click()
        row = page.locator("#counter-L9")
        row.wait_for()
        assert [t.strip() for t in row.locator("ol.served li").all_inner_texts()] == [
            "R Informasi dan Pengaduan", "A KTP Elektronik"]
        screenshot(page, "admin-counters")

        page.goto(server.url + "/loket/")
        choice = page.get_by_role("button", name="Loket 9")
        choice.wait_for()
        services = choice.locator(".counter-services span").all_inner_texts()
        assert services == ["R Informasi dan Pengaduan", "A KTP Elektronik"]
        screenshot(page, "console-choose-l9")
