"""The console by push, in Chromium against real gunicorn: a kiosk ticket appears in the
operator's waiting list within a moment, pushed down the console's socket (the page asks
for nothing); a call made elsewhere updates the panel; a dropped link shows and, once
back, the console catches up (resync)."""
import threading
import time

import pytest
import requests

from .browser import chromium, screenshot, sign_in
from .servers import Server

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def issue(server, service="ADM-KTP"):
    r = requests.post(f"{server.url}/api/v1/sites/tabang/tickets", json={"service": service},
                      timeout=10)
    assert r.status_code == 201, r.text
    return r.json()["number"]


def open_console(browser, server, record):
    """The L1 console of Tabang, signed in and live; `record(request)` sees its
    requests."""
    page = browser.new_page(viewport={"width": 1366, "height": 900})
    sign_in(page, server.url, "operator.tabang")
    page.on("request", record)
    page.goto(f"{server.url}/loket/tabang/L1")
    page.wait_for_selector(".console[data-live='yes']", timeout=10000)
    return page


def test_console_updates_by_push_and_resyncs_after_a_drop(tmp_path):
    server = Server(tmp_path / "srv", workers=1, threads=8).start()
    try:
        with chromium() as browser:
            fetches = []
            page = open_console(browser, server, lambda r: fetches.append(
                (time.monotonic(), r.url))
                if "/loket/tabang/L1/" in r.url and r.method == "GET" else None)
            assert page.is_hidden("#live-status")

            # A citizen takes a number at the kiosk: the waiting list shows it by push.
            loaded = time.monotonic()
            number = issue(server)
            page.wait_for_selector(f"#console-waiting [data-number='{number}']",
                                   timeout=2000)
            shown = time.monotonic() - loaded
            assert shown < 2, shown
            # The list came down the socket: no fetch, no polling every few seconds.
            waiting = [url for _at, url in fetches if url.endswith("/antrean")]
            assert waiting == [], fetches

            # Quiet for 4 s: nothing is fetched (the old console polled every 3 s).
            before = len(fetches)
            time.sleep(4)
            assert len(fetches) == before, fetches[before:]

            # Another console (the API here) calls at this counter: the panel follows.
            token = server.token("operator.tabang")
            r = requests.post(f"{server.url}/api/v1/sites/tabang/counters/L1/call-next",
                              headers={"Authorization": f"Bearer {token}"}, timeout=10)
            assert r.status_code == 200
            page.wait_for_selector(f".current[data-current='{number}']", timeout=2000)
            page.wait_for_selector(f"#console-waiting [data-number='{number}']",
                                   state="detached", timeout=2000)
            screenshot(page, "console-live")

            # The operator's own action answers with the panel: the event of that action
            # fetches nothing more.
            fetched = len(fetches)
            page.click("text=Mulai layani")
            page.wait_for_selector(".current[data-current-status='serving']", timeout=2000)
            page.wait_for_timeout(1500)  # the event came and its refetch would be due
            assert [url for _at, url in fetches[fetched:]
                    if url.endswith("/panel")] == [], fetches[fetched:]

            # The server goes away: the console says so ...
            server.stop()
            page.wait_for_selector(".console[data-live='no']", timeout=5000)
            status = page.inner_text("#live-status")
            assert "Terputus" in status and "menyambung ulang" in status
            screenshot(page, "console-disconnected")
            # ... and when it is back, the console reconnects by itself and catches up
            # with what happened meanwhile (a ticket issued before it reconnected).
            server.start()
            missed = issue(server, "ADM-KK")
            page.wait_for_selector(".console[data-live='yes']", timeout=15000)
            page.wait_for_selector(f"#console-waiting [data-number='{missed}']",
                                   timeout=3000)
            assert page.is_hidden("#live-status")
    finally:
        server.stop()


def test_a_busy_hall_refreshes_during_the_stream_not_once_per_event(tmp_path):
    """Tickets every 50 ms for 4 s: the waiting list is pushed while they keep coming
    (a debounce that restarted on every event would wait for a pause that never came),
    far less often than once per ticket, and the page fetches nothing."""
    server = Server(tmp_path / "srv", workers=1, threads=8).start()
    try:
        with chromium() as browser:
            fetches, pushes = [], []
            page = open_console(browser, server, lambda r: fetches.append(r.url)
                                if r.url.endswith("/loket/tabang/L1/antrean") else None)
            page.on("websocket", lambda ws: ws.on("framereceived", lambda frame: pushes.append(
                frame) if '"type":"waiting"' in str(frame) else None))
            page.reload()  # (the socket opened again, now watched)
            page.wait_for_selector(".console[data-live='yes']", timeout=10000)
            issued, shown_during_stream = [], set()
            stream_ends = time.monotonic() + 4

            def kiosk():  # a ticket every 50 ms, from another thread
                while time.monotonic() < stream_ends:
                    issued.append(issue(server))
                    time.sleep(0.05)
            stream = threading.Thread(target=kiosk)
            stream.start()
            while stream.is_alive():
                shown_during_stream.update(
                    n for n in list(issued)[:-1]
                    if page.query_selector(f"#console-waiting [data-number='{n}']"))
                page.wait_for_timeout(100)
            stream.join()
            during = len(pushes)
            assert shown_during_stream, "the list never refreshed while tickets kept coming"
            assert 2 <= during < len(issued) / 2, (during, len(issued))
            assert fetches == []
            last_shown = issued[min(len(issued), 50) - 1]  # the list shows the first 50
            page.wait_for_selector(f"#console-waiting [data-number='{last_shown}']",
                                   timeout=3000)  # the last push, within a second
            screenshot(page, "console-pushed-list")
    finally:
        server.stop()
