"""A citizen served at Tabang answers the SKM survey on a cheap phone (360x740) from the
ticket's page, tapping the answers; the hall's public IKM page then counts one
respondent. Real gunicorn, Debian's Chromium; screenshots in test-artifacts/."""
import re
from pathlib import Path

import pytest
import requests

from .browser import chromium, screenshot
from .servers import Server

ANSWERS = [4, 3, 2, 4, 3, 3, 4, 2, 3]  # 28 / 9 x 25 = 77.78, B


def served_ticket(server) -> str:
    """A KTP ticket issued at the kiosk, called, served and finished at counter L1."""
    r = requests.post(server.url + "/api/v1/sites/tabang/tickets",
                      json={"service": "ADM-KTP"}, timeout=10)
    assert r.status_code == 201, r.text
    ticket = r.json()["id"]
    headers = {"Authorization": "Bearer " + server.token("operator.tabang")}
    for path, body in (("/api/v1/sites/tabang/counters/L1/call-next", None),
                       (f"/api/v1/tickets/{ticket}/start", None),
                       (f"/api/v1/tickets/{ticket}/finish", {"outcome": "completed"})):
        r = requests.post(server.url + path, json=body, headers=headers, timeout=10)
        assert r.status_code == 200, (path, r.text)
    return ticket


def no_sideways_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth") <= 360


@pytest.mark.slow
@pytest.mark.browser
def test_a_citizen_answers_on_a_phone_and_the_index_counts_it(tmp_path: Path):
    problems = []
    with chromium() as browser, Server(tmp_path / "data", workers=1, threads=8) as server:
        ticket = served_ticket(server)
        phone = browser.new_context(viewport={"width": 360, "height": 740},
                                    device_scale_factor=2, is_mobile=True, has_touch=True,
                                    locale="id-ID").new_page()
        phone.on("pageerror", lambda e: problems.append(str(e)))
        # Script errors and failed requests of the pages themselves (the browser's own
        # favicon request is not one of them and answers 404).
        phone.on("console", lambda m: problems.append(m.text) if m.type == "error" and not
                 m.text.startswith("Failed to load resource") else None)
        phone.on("response", lambda r: problems.append(f"{r.status} {r.url}")
                 if r.status >= 400 else None)

        phone.goto(f"{server.url}/t/{ticket}")
        phone.get_by_role("link", name=re.compile("Isi survei kepuasan")).tap()
        phone.wait_for_url(re.compile(f"/survei/t/{ticket}"))
        unsur = phone.locator("fieldset.unsur")
        assert unsur.count() == 9 and no_sideways_scroll(phone)
        for number, value in enumerate(ANSWERS):
            unsur.nth(number).locator("label.answer").nth(value - 1).tap()
        assert phone.locator("input[type=radio]:checked").count() == 9
        assert phone.locator("fieldset.unsur").nth(2).locator(
            "input:checked").get_attribute("value") == "2"
        phone.get_by_label(re.compile("Saran dan masukan")).fill(
            "Ruang tunggu panas, hubungi 0812-3456-7890")
        screenshot(phone, "survey-1-answered")
        phone.get_by_role("button", name=re.compile("Kirim")).tap()
        phone.wait_for_selector("text=Terima kasih!")
        assert no_sideways_scroll(phone)
        screenshot(phone, "survey-2-thanks")

        phone.goto(server.url + "/ikm/tabang")
        score = phone.locator(".ikm-score")
        assert "77,78" in score.inner_text() and "B — Baik" in score.inner_text()
        assert "dari 1 responden" in score.inner_text()
        content = phone.content()
        assert "Ruang tunggu panas" not in content and "*7890" not in content
        assert phone.locator("tr.weakest").count() == 2  # U3 and U8 both answered 2
        assert no_sideways_scroll(phone)
        screenshot(phone, "survey-3-public-ikm")
    assert problems == []
