"""The centre's dashboard in a real browser: the admin opens /pusat, sees a tile for
each of the 21 halls, a ticket is taken at Tabang's kiosk and Tabang's "Menunggu" goes
up by itself (htmx, every 15 s), without the page reloading. Real gunicorn, real
Chromium."""
import pytest
import requests
from playwright.sync_api import expect

from .browser import chromium, screenshot, sign_in
from .servers import Server

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_the_dashboard_follows_a_new_ticket_without_reloading(tmp_path):
    with Server(tmp_path, workers=1, threads=4) as server, chromium() as browser:
        page = browser.new_page(viewport={"width": 1366, "height": 768})
        sign_in(page, server.url, "admin")
        page.goto(server.url + "/pusat")
        tiles = page.locator("article.hall-tile")
        assert tiles.count() == 21
        waiting = page.locator("#hall-tabang [data-field=waiting]")
        assert waiting.inner_text() == "0"
        assert page.locator("#hall-tabang [data-field=open]").inner_text() == "Buka"
        page.evaluate("window.sameDocument = true")  # gone if the page reloads

        r = requests.post(server.url + "/api/v1/sites/tabang/tickets",
                          json={"service": "ADM-KTP"}, timeout=10)
        assert r.status_code == 201
        expect(waiting).to_have_text("1", timeout=25_000)  # the next refresh, <= 15 s
        assert page.evaluate("window.sameDocument") is True
        assert page.locator("[data-total=waiting]").inner_text() == "1"
        assert tiles.count() == 21
        screenshot(page, "dashboard-pusat")
