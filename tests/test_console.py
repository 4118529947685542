"""The operator console and the kiosk pages through the test client: login, CSRF,
session timeouts, security headers, htmx fragments."""
import re

import pytest

from app.models import Ticket

from .pages import csrf_from, login


@pytest.fixture
def csrf_app(app):
    assert app.config.get("WTF_CSRF_ENABLED", True)  # tests run with CSRF on, as in production
    return app


def csrf_headers(client, page="/k/tabang"):
    return {"HX-Request": "true", "X-CSRFToken": csrf_from(client.get(page).get_data(as_text=True))}


def test_login_without_csrf_is_refused(csrf_app):
    client = csrf_app.test_client()
    r = client.post("/loket/masuk", data={"username": "operator.tabang", "password": "demo"})
    assert r.status_code == 400
    assert "Muat ulang halaman" in r.get_data(as_text=True)


def test_login_then_choose_counter_then_call(csrf_app):
    client = csrf_app.test_client()
    assert login(client).status_code == 302
    page = client.get("/loket/").get_data(as_text=True)
    assert "Loket 1 Kependudukan" in page
    token = csrf_from(page)
    client.post("/k/tabang/tickets", data={"service": "ADM-KTP", "csrf_token": token})
    r = client.post("/loket/tabang/L1/open-counter", data={"csrf_token": token})
    assert r.status_code == 302
    console = client.get("/loket/tabang/L1").get_data(as_text=True)
    assert "Panggil berikutnya" in console and "A001" in console
    # htmx posts carry the token in a header.
    r = client.post("/loket/tabang/L1/call-next", headers={"HX-Request": "true",
                                                            "X-CSRFToken": token})
    assert r.status_code == 200 and "A001" in r.get_data(as_text=True)
    assert "<html" not in r.get_data(as_text=True)  # a fragment
    assert Ticket.get().status == "called"
    r = client.post("/loket/tabang/L1/call-next", headers={"HX-Request": "true"})
    assert r.status_code == 400  # no CSRF header


def test_wrong_password_shows_message(client):
    r = login(client, password="salah")
    assert r.status_code == 401
    assert "Nama pengguna atau kata sandi salah" in r.get_data(as_text=True)


def test_console_requires_login(client):
    r = client.get("/loket/tabang/L1")
    assert r.status_code == 302 and "/loket/masuk" in r.headers["Location"]


def test_operator_cannot_open_another_halls_console(client):
    login(client)
    r = client.get("/loket/anggana/L1")
    assert r.status_code == 403


def test_busy_counter_error_is_a_readable_fragment(client):
    login(client)
    headers = csrf_headers(client)
    for _ in range(2):
        client.post("/k/tabang/tickets", data={"service": "ADM-KTP"}, headers=headers)
    client.post("/loket/tabang/L1/call-next", headers=headers)
    r = client.post("/loket/tabang/L1/call-next", headers=headers)
    assert r.status_code == 409
    body = r.get_data(as_text=True)
    assert "Loket masih menangani A001" in body and "<html" not in body


def test_idle_session_expires(client, app):
    login(client)
    assert client.get("/loket/").status_code == 200
    with client.session_transaction() as session:
        session["seen"] -= app.config["SESSION_IDLE_MINUTES"] * 60 + 1
    r = client.get("/loket/")
    assert r.status_code == 302 and "/loket/masuk" in r.headers["Location"]


def test_absolute_session_timeout(client, app):
    login(client)
    with client.session_transaction() as session:
        session["since"] -= app.config["SESSION_MAX_HOURS"] * 3600 + 1
    assert client.get("/loket/").status_code == 302


def test_session_cookie_flags(app, client):
    r = login(client)
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    tls = app.test_client()
    page = tls.get("/loket/masuk", base_url="https://localhost").get_data(as_text=True)
    r = tls.post("/loket/masuk", base_url="https://localhost",
                 headers={"Referer": "https://localhost/loket/masuk"},
                 data={"username": "operator.tabang", "password": "demo",
                       "csrf_token": csrf_from(page)})
    assert r.status_code == 302
    assert "Secure" in r.headers["Set-Cookie"]


def test_security_headers(client):
    r = client.get("/k/tabang")
    assert "frame-ancestors 'none'" in r.headers["Content-Security-Policy"]
    assert "script-src 'self'" in r.headers["Content-Security-Policy"]
    assert r.headers["X-Content-Type-Options"] == "nosniff"


def test_kiosk_page_lists_open_and_closed_services(client):
    html = client.get("/k/tabang").get_data(as_text=True)
    assert "Mini MPP Tabang" in html and "KTP Elektronik" in html
    # Passport intake at a mini hall opens on Tuesdays only.
    assert re.search(r'service closed.*?Paspor.*?Tutup', html, re.S)
    assert "Lanjut usia" in html


def test_kiosk_issues_a_ticket_fragment(client):
    r = client.post("/k/tabang/tickets", data={"service": "ADM-KTP", "priority_group": "lansia"},
                    headers=csrf_headers(client))
    assert r.status_code == 201
    body = r.get_data(as_text=True)
    assert "A001" in body and "Lanjut usia" in body and "Tidak ada</strong> orang di depan" in body


def test_kiosk_closed_service_message(client):
    r = client.post("/k/tabang/tickets", data={"service": "IMI-PASPOR"},
                    headers=csrf_headers(client))
    assert r.status_code == 409
    assert "Layanan Paspor sedang tutup" in r.get_data(as_text=True)
    assert Ticket.select().count() == 0


def test_unknown_page_is_html_404(client):
    r = client.get("/k/nowhere")
    assert r.status_code == 404 and "tidak dikenal" in r.get_data(as_text=True)
    assert r.mimetype == "text/html"


def test_console_listens_for_pushes_and_fetches_its_parts(csrf_app):
    """The console page names its live socket and the fragments a push refetches: the
    waiting list (with only a slow safety poll) and this counter's panel."""
    client = csrf_app.test_client()
    assert client.get("/loket/tabang/L1/panel").status_code == 302  # signed in only
    assert login(client).status_code == 302
    page = client.get("/loket/tabang/L1").get_data(as_text=True)
    assert 'data-live-path="/ws/loket/tabang?counter=L1"' in page
    assert 'data-live-counter="L1"' in page
    assert "every 3s" not in page and 'hx-trigger="queue-changed from:body, every 60s"' in page
    assert 'hx-get="/loket/tabang/L1/panel"' in page
    panel = client.get("/loket/tabang/L1/panel")
    assert panel.status_code == 200 and "Panggil berikutnya" in panel.get_data(as_text=True)
    assert "<html" not in panel.get_data(as_text=True)
    assert client.get("/loket/anggana/L1/panel").status_code == 403
