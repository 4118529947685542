"""An admin creates an operator for Tabang at /admin/pengguna and reads the one-time
password; the operator signs in with it, is made to change it, then calls a number at
counter L1. Real gunicorn, real Chromium."""
import pytest
import requests

from .browser import chromium, screenshot, sign_in
from .servers import Server

pytestmark = [pytest.mark.browser, pytest.mark.slow]

NEW_PASSWORD = "Sungai-Belayan-2026"


def test_new_operator_first_day(tmp_path):
    with Server(tmp_path, workers=1, threads=8) as server, chromium() as browser:
        admin = browser.new_page(viewport={"width": 1366, "height": 768})
        sign_in(admin, server.url, "admin")
        admin.goto(server.url + "/admin")
        admin.get_by_role("link", name="Pengguna Staff").first.click()
        admin.wait_for_url("**/admin/pengguna")
        admin.get_by_role("link", name="Tambah pengguna").click()
        admin.fill("input[name=username]", "operator2.tabang")
        admin.fill("input[name=name]", "Siti Aminah")
        admin.select_option("select[name=role]", "operator")
        admin.select_option("select[name=site]", "tabang")
        admin.get_by_role("button", name="Buat akun").click()
        shown = admin.locator("#one-time-password")
        shown.wait_for()
        one_time = shown.inner_text().strip()
        assert len(one_time) == 14
        screenshot(admin, "users-one-time-password")
        admin.get_by_role("button", name="Keluar").click()
        admin.wait_for_url("**/loket/masuk")

        # A citizen is waiting at Tabang.
        r = requests.post(server.url + "/api/v1/sites/tabang/tickets",
                          json={"service": "ADM-KTP"}, timeout=10)
        assert r.status_code == 201, r.text

        operator = browser.new_page(viewport={"width": 1366, "height": 768})
        sign_in(operator, server.url, "operator2.tabang", one_time)
        operator.wait_for_url("**/loket/kata-sandi")
        operator.goto(server.url + "/loket/tabang/L1")  # not before the change
        operator.wait_for_url("**/loket/kata-sandi")
        operator.fill("input[name=current]", one_time)
        operator.fill("input[name=new]", "bismillah123")
        operator.fill("input[name=repeat]", "bismillah123")
        operator.get_by_role("button", name="Simpan kata sandi").click()
        operator.get_by_text("terlalu umum").wait_for()
        screenshot(operator, "users-change-refused")
        operator.fill("input[name=current]", one_time)
        operator.fill("input[name=new]", NEW_PASSWORD)
        operator.fill("input[name=repeat]", NEW_PASSWORD)
        operator.get_by_role("button", name="Simpan kata sandi").click()
        operator.wait_for_url("**/loket/")
        operator.get_by_role("button", name="Loket 1 Kependudukan").click()
        operator.locator("#console-waiting [data-number='A001']").wait_for()
        operator.get_by_role("button", name="Panggil berikutnya").click()
        operator.locator(".current[data-current='A001']").wait_for()
        screenshot(operator, "users-operator2-called")
