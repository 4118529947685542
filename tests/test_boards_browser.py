"""The board in Chromium: the operator calls in the console, the board shows the number
and queues the announcements (one never cuts another off), then shows a dropped link."""
import shutil
import time

import pytest
import requests

from . import boardkit
from .servers import Server

ARTIFACTS = __import__("pathlib").Path(__file__).resolve().parent.parent / "test-artifacts"


def launch(playwright):
    return playwright.chromium.launch(
        executable_path=shutil.which("chromium"),
        args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])


def wait_js(page, expression, timeout=15.0):
    """Poll an expression through the debugger protocol (the page's CSP forbids the
    eval that Playwright's wait_for_function uses, and we keep the CSP on)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if page.evaluate(expression):
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {expression}")


def console_call(page, base, counter):
    page.goto(f"{base}/loket/tabang/{counter}")
    page.get_by_role("button", name="Panggil berikutnya").click()
    page.wait_for_selector(".current .big-number")
    return page.inner_text(".current .big-number").strip()


@pytest.mark.slow
@pytest.mark.browser
def test_console_call_reaches_the_board_and_is_announced_in_order(tmp_path):
    sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright
    if not shutil.which("chromium"):
        pytest.skip("Debian's chromium is not installed (make browser)")
    ARTIFACTS.mkdir(exist_ok=True)
    server = Server(tmp_path / "srv", workers=1, threads=16).start()
    try:
        for service in ("ADM-KTP", "IZN-NIB", "ADM-KK"):
            r = requests.post(f"{server.url}/api/v1/sites/tabang/tickets",
                              json={"service": service}, timeout=10)
            assert r.status_code == 201
        with sync_playwright() as p:
            browser = launch(p)
            board = boardkit.board_page(browser, server, viewport={"width": 1920, "height": 1080})
            console = []
            board.on("console", lambda m: console.append(m.text))
            wav_responses = []
            board.on("response", lambda r: wav_responses.append(r.status)
                     if r.url.endswith(".wav") else None)
            board.goto(f"{server.url}/boards/tabang")
            board.wait_for_selector("#board[data-connected='yes']", timeout=10000)
            assert board.inner_text("#conn").startswith("Terhubung")
            if board.is_visible("#enable-sound"):
                board.click("#enable-sound")
            assert board.is_hidden("#enable-sound")
            assert board.get_attribute("#board", "data-sound-mode") == "server"

            # A second board limited to counter L2 (sound left off: calls still queue).
            only_l2 = boardkit.board_page(browser, server, viewport={"width": 1920, "height": 1080})
            only_l2.goto(f"{server.url}/boards/tabang?counters=L2")
            only_l2.wait_for_selector("#board[data-connected='yes']", timeout=10000)
            assert only_l2.locator("#counters [data-counter]").count() == 1

            # A board whose server voice cannot be fetched (network trouble): it falls
            # back to the browser's Indonesian voice, else to the chime, and says so.
            fallback = boardkit.board_page(browser, server,
                                           viewport={"width": 1920, "height": 1080})
            fallback.route("**/*.wav", lambda route: route.abort())
            fallback.goto(f"{server.url}/boards/tabang")
            fallback.wait_for_selector("#board[data-connected='yes']", timeout=10000)
            if fallback.is_visible("#enable-sound"):
                fallback.click("#enable-sound")

            operator = browser.new_context().new_page()
            operator.goto(f"{server.url}/loket/masuk")
            operator.fill("input[name=username]", "operator.tabang")
            operator.fill("input[name=password]", "demo")
            operator.get_by_role("button", name="Masuk").click()
            operator.wait_for_url("**/loket/")
            first = console_call(operator, server.url, "L1")
            second = console_call(operator, server.url, "L2")
            assert (first, second) == ("A001", "B001")

            # The board shows the first call at once; the second waits its turn.
            wait_js(board,
                "document.querySelector('.latest-number').dataset.number === 'A001'")
            wait_js(board,
                "window.mppBoard.announcer.queue.length + "
                "window.mppBoard.announcer.played.length + "
                "(window.mppBoard.announcer.playing ? 1 : 0) === 2")
            assert board.inner_text("#latest .latest-counter") == "LOKET 1"
            assert board.inner_text("#counters [data-counter='L2'] .tile-number") == "B001"
            board.screenshot(path=str(ARTIFACTS / "board-browser-test.png"))

            wait_js(board, "window.mppBoard.announcer.played.length === 2", timeout=60)
            played = board.evaluate("window.mppBoard.announcer.played")
            assert [item["number"] for item in played] == ["A001", "B001"]
            assert played[0]["endedAt"] <= played[1]["startedAt"]  # no cutting off
            assert played[0]["speech"] == "Nomor antrian A satu, silakan menuju loket satu"
            assert {item["how"] for item in played} <= {"server", "browser", "chime"}
            assert {200, 206} & set(wav_responses)  # the server's WAV was fetched
            wait_js(board,
                "document.querySelector('.latest-number').dataset.number === 'B001'")
            assert "A001" in board.inner_text("#recent")

            assert not [m for m in console if "Content Security Policy" in m], console
            wait_js(only_l2, "window.mppBoard.announcer.played.length === 1", timeout=20)
            assert [i["number"] for i in only_l2.evaluate("window.mppBoard.announcer.played")] \
                == ["B001"]
            assert only_l2.inner_text("#latest .latest-number") == "B001"
            wait_js(fallback, "window.mppBoard.announcer.played.length === 2", timeout=60)
            used = {i["how"] for i in fallback.evaluate("window.mppBoard.announcer.played")}
            assert used <= {"browser", "chime"} and used
            mode = fallback.get_attribute("#board", "data-sound-mode")
            assert mode in used
            assert ("peramban" if mode == "browser" else "bel saja") in \
                fallback.inner_text("#sound-mode")

            # The hall's server goes away: the board says so, and since when.
            server.stop()
            board.wait_for_selector("#conn.conn-down", timeout=15000)
            assert "Terputus sejak" in board.inner_text("#conn")
            assert board.get_attribute("#board", "data-connected") == "no"
            board.wait_for_selector("#board.is-disconnected", timeout=10000)
            board.screenshot(path=str(ARTIFACTS / "board-disconnected.png"))
            browser.close()
    finally:
        server.stop()


@pytest.mark.slow
@pytest.mark.browser
def test_an_admin_change_reaches_an_open_board_without_a_reload(tmp_path):
    """A counter renamed at /admin (here through its API) shows on a board that stays
    open: the change's catalogue_changed event makes it take a new snapshot."""
    sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright
    if not shutil.which("chromium"):
        pytest.skip("Debian's chromium is not installed (make browser)")
    server = Server(tmp_path / "srv", workers=1, threads=16).start()
    try:
        with sync_playwright() as p:
            browser = launch(p)
            board = boardkit.board_page(browser, server, viewport={"width": 1920, "height": 1080})
            board.goto(f"{server.url}/boards/tabang")
            board.wait_for_selector("#board[data-connected='yes']", timeout=10000)
            assert "Loket Ajaib" not in board.inner_text("#counters")
            headers = {"Authorization": f"Bearer {server.token('supervisor.tabang')}"}
            r = requests.patch(f"{server.url}/api/v1/admin/sites/tabang/counters/L2",
                               json={"name": "Loket Ajaib"}, headers=headers, timeout=10)
            assert r.status_code == 200, r.text
            wait_js(board, "document.querySelector('#counters').textContent"
                           ".includes('Loket Ajaib')", timeout=10)
            assert board.evaluate("document.location.href").endswith("/boards/tabang")
            browser.close()
    finally:
        server.stop()
