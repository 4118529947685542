"""The pairing screen in Chromium: an unregistered TV shows its code, a supervisor
enters it on the devices page, the TV turns into the board by itself; revoked, it shows
a new code by itself."""
import re
import shutil

import pytest

from .browser import screenshot, sign_in
from .servers import Server
from .test_boards_browser import launch

pytestmark = [pytest.mark.slow, pytest.mark.browser]


def test_a_tv_is_paired_on_the_devices_page_and_revoked(tmp_path):
    sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright
    if not shutil.which("chromium"):
        pytest.skip("Debian's chromium is not installed (make browser)")
    with Server(tmp_path / "srv", workers=1, threads=16) as server, \
            sync_playwright() as p:
        browser = launch(p)
        tv = browser.new_context(viewport={"width": 1920, "height": 1080}).new_page()
        tv.goto(f"{server.url}/boards/tabang")
        assert "Papan ini belum terdaftar" in tv.inner_text("h1")
        code = tv.inner_text("#pairing-code").strip()
        assert re.fullmatch(r"[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{2}", code)
        box = tv.locator("#pairing-code").bounding_box()
        assert box["height"] > 100  # readable from across the room
        screenshot(tv, "board-pairing-code")
        assert tv.context.cookies()[0]["httpOnly"]

        desk = browser.new_context(viewport={"width": 1366, "height": 900}).new_page()
        sign_in(desk, server.url, "supervisor.tabang")
        desk.goto(f"{server.url}/admin/lokasi/tabang/perangkat")
        desk.fill("#papan-terdaftar input[name=code]", code.lower())
        desk.fill("#papan-terdaftar input[name=name]", "TV ruang tunggu 1")
        desk.get_by_role("button", name="Daftarkan papan").click()
        desk.wait_for_selector("#papan-terdaftar .notice")
        assert "TV ruang tunggu 1" in desk.inner_text("#papan-terdaftar table")

        # The TV polls, gets its credential and shows the board, connected.
        tv.wait_for_selector("#board[data-connected='yes']", timeout=20000)
        credential = [c for c in tv.context.cookies() if c["name"] == "mpp_board"]
        assert credential and credential[0]["httpOnly"]
        tv.reload()  # and stays a board after a restart of the browser's page
        tv.wait_for_selector("#board[data-connected='yes']", timeout=20000)
        screenshot(tv, "board-paired")

        desk.goto(f"{server.url}/admin/lokasi/tabang/perangkat")
        assert "Aktif" in desk.inner_text("#papan-terdaftar table")
        desk.get_by_role("button", name="Cabut").click()
        desk.wait_for_selector("#papan-terdaftar .notice")
        # Its socket is closed (4403); the page reloads into a new pairing code.
        tv.wait_for_selector("#pairing-code", timeout=20000)
        assert tv.inner_text("#pairing-code").strip() != code
        browser.close()
        assert "Traceback" not in server.log()
