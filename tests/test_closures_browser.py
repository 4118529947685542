"""The supervisor of Tabang closes the hall for tomorrow ("Pemadaman listrik"); the
booking page shows that day closed with the reason, and on that day the kiosk has
nothing to take. Real gunicorn, Debian's Chromium; screenshots in test-artifacts/."""
import re
from pathlib import Path

import pytest

from .browser import chromium, screenshot, sign_in
from .servers import Server

TUESDAY_9 = "2026-12-01T09:00:00+08:00"  # "tomorrow" of the servers' Monday


@pytest.mark.slow
@pytest.mark.browser
def test_supervisor_closes_tabang_for_tomorrow(tmp_path: Path):
    problems = []
    data = tmp_path / "data"
    with chromium() as browser:
        with Server(data, workers=1, threads=8) as server:  # Monday 30 Nov, 09:00 WITA
            desk = browser.new_context(viewport={"width": 1366, "height": 768}).new_page()
            desk.on("pageerror", lambda e: problems.append(str(e)))
            sign_in(desk, server.url, "supervisor.tabang")
            desk.goto(server.url + "/admin")
            desk.get_by_role("link", name=re.compile("Hari tutup")).first.click()
            desk.wait_for_url(re.compile("/admin/lokasi/tabang/tutup"))
            desk.locator("input[name=from]").fill("2026-12-01")
            desk.locator("input[name=to]").fill("2026-12-01")
            desk.get_by_label(re.compile("Alasan")).fill("Pemadaman listrik")
            desk.get_by_role("button", name=re.compile("Simpan penutupan")).click()
            desk.wait_for_selector("[data-saved]")
            assert desk.locator("tr[data-closure]").inner_text().startswith("01-12-2026")
            screenshot(desk, "closures-1-saved")

            phone = browser.new_context(viewport={"width": 360, "height": 740},
                                        is_mobile=True, has_touch=True).new_page()
            phone.on("pageerror", lambda e: problems.append(str(e)))
            phone.goto(server.url + "/booking?site=tabang&service=ADM-KTP")
            closed = phone.locator("[data-closed='2026-12-01']")
            assert "Tutup: Pemadaman listrik" in closed.inner_text()
            assert phone.locator("a[data-date='2026-12-01']").count() == 0
            assert phone.locator("a[data-date='2026-12-02']").count() == 1
            screenshot(phone, "closures-2-booking")
            phone.goto(server.url + "/booking?site=tabang&service=ADM-KTP&date=2026-12-01")
            assert "Tutup: Pemadaman listrik" in phone.locator(".notice").first.inner_text()

        # The same hall on Tuesday morning: the kiosk offers nothing to take.
        with Server(data, workers=1, threads=8, setup=False,
                    env={"MPP_CLOCK_START": TUESDAY_9}) as server:
            kiosk = browser.new_context(viewport={"width": 1280, "height": 1024}).new_page()
            kiosk.on("pageerror", lambda e: problems.append(str(e)))
            kiosk.goto(server.url + "/k/tabang")
            kiosk.wait_for_selector(".service-grid")
            assert kiosk.locator(".service.open").count() == 0
            assert kiosk.locator(".service.closed").count() > 5
            assert "Pemadaman listrik" in kiosk.locator(".service.closed").first.inner_text()
            screenshot(kiosk, "closures-3-kiosk-tuesday")
    assert problems == []
