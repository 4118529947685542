"""Staff accounts over HTTP: /admin/pengguna and /api/v1/admin/users with their permission
matrix, the one-time password shown once, the forced password change after login, the
API token refused until then, last login, and disabling ending tokens and sessions."""
import re

import pytest

from app.models import AuditEntry, User

from .conftest import Api
from .pages import csrf_from, logged_in, login

GOOD = "Kapal-Mahakam-77"
NEW_OPERATOR = {"username": "operator2.tabang", "name": "Siti Aminah", "role": "operator",
                "site": "tabang"}
# (who, may manage the operators of Tabang)
MATRIX = [("admin", True), ("supervisor.tabang", True), ("supervisor.induk", False),
          ("operator.tabang", False), ("officer.disdukcapil", False)]


def api_as(client, username):
    return Api(client).login(username)


def patch(api, path, json):
    return api.client.patch(path, json=json, headers=api.headers)


def one_time_from(html: str) -> str:
    match = re.search(r'id="one-time-password">([^<]+)<', html)
    assert match, html
    return match.group(1)


# --- the page ---------------------------------------------------------------------------------

@pytest.mark.parametrize("username, status", [
    ("admin", 200), ("supervisor.tabang", 200), ("operator.tabang", 403),
    ("officer.disdukcapil", 403)])
def test_who_opens_the_staff_page(client, username, status):
    logged_in(client, username)
    r = client.get("/admin/pengguna")
    assert r.status_code == status
    if status == 200:
        html = r.get_data(as_text=True)
        assert "operator.tabang" in html and "Masuk terakhir (WITA)" in html
        assert 'href="/admin/pengguna"' in html  # the menu entry "Pengguna"
        if username == "admin":
            assert "officer.samsat" in html and "supervisor.induk" in html
        else:  # a supervisor sees the operators of their own hall only
            assert "operator.induk" not in html and "supervisor.tabang</code>" not in html


def test_the_staff_page_needs_a_login(client):
    r = client.get("/admin/pengguna")
    assert r.status_code == 302 and "/loket/masuk" in r.headers["Location"]


def test_search_answers_htmx_with_the_rows_alone(client):
    logged_in(client, "admin")
    r = client.get("/admin/pengguna?q=kota-bangun-darat", headers={"HX-Request": "true"})
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and "<html" not in html
    assert "operator.kota-bangun-darat" in html and "operator.tabang" not in html


def test_last_login_is_shown_in_wita(client):
    other = client.application.test_client()
    logged_in(other, "operator.tabang")   # the clock starts Monday 09:00 WITA
    logged_in(client, "admin")
    html = client.get("/admin/pengguna?q=operator.tabang").get_data(as_text=True)
    assert re.search(r"30-11-2026 09:0\d", html)
    assert User.get(User.username == "operator.tabang").last_login_at is not None


def test_admin_creates_an_operator_and_the_password_is_shown_once(client):
    logged_in(client, "admin")
    form = client.get("/admin/pengguna/baru").get_data(as_text=True)
    assert "Peran" in form and "Mini MPP Tabang" in form and "Instansi" in form
    r = client.post("/admin/pengguna/baru", data={**NEW_OPERATOR,
                                                   "csrf_token": csrf_from(form)})
    assert r.status_code == 200 and "no-store" in r.headers["Cache-Control"]
    password = one_time_from(r.get_data(as_text=True))
    assert "hanya ditampilkan sekali" in r.get_data(as_text=True)
    edit = client.get("/admin/pengguna/operator2.tabang").get_data(as_text=True)
    assert password not in edit and "kata sandi sementara" in edit
    fresh = client.application.test_client()
    r = login(fresh, "operator2.tabang", password)
    assert r.status_code == 302 and r.headers["Location"].endswith("/loket/kata-sandi")


def test_create_form_shows_the_reason_of_a_refusal(client):
    logged_in(client, "admin")
    form = client.get("/admin/pengguna/baru").get_data(as_text=True)
    r = client.post("/admin/pengguna/baru", data={**NEW_OPERATOR, "username": "operator.tabang",
                                                   "csrf_token": csrf_from(form)})
    assert r.status_code == 409 and "sudah dipakai" in r.get_data(as_text=True)
    r = client.post("/admin/pengguna/baru", data={**NEW_OPERATOR, "site": "",
                                                   "csrf_token": csrf_from(form)})
    assert r.status_code == 422 and "Pilih lokasi" in r.get_data(as_text=True)


def test_supervisor_form_offers_only_operators_of_their_hall(client):
    logged_in(client, "supervisor.tabang")
    form = client.get("/admin/pengguna/baru").get_data(as_text=True)
    assert 'value="operator"' in form and 'value="admin"' not in form
    assert "Mini MPP Tabang" in form and "MPP Induk" not in form
    r = client.post("/admin/pengguna/baru", data={**NEW_OPERATOR, "role": "supervisor",
                                                   "csrf_token": csrf_from(form)})
    assert r.status_code == 403
    assert not User.select().where(User.username == "operator2.tabang").exists()
    assert client.get("/admin/pengguna/operator.induk").status_code == 403
    assert client.get("/admin/pengguna/supervisor.tabang").status_code == 403


def test_edit_disable_enable_and_reset_from_the_page(client):
    logged_in(client, "admin")
    page = client.get("/admin/pengguna/operator.tabang").get_data(as_text=True)
    token = csrf_from(page)
    r = client.post("/admin/pengguna/operator.tabang", data={
        "name": "Rina Wati", "role": "operator", "site": "tabang", "csrf_token": token})
    assert r.status_code == 303
    assert "Tersimpan" in client.get(r.headers["Location"]).get_data(as_text=True)
    assert User.get(User.username == "operator.tabang").full_name == "Rina Wati"
    assert client.post("/admin/pengguna/operator.tabang/nonaktifkan",
                       data={"csrf_token": token}).status_code == 303
    assert not User.get(User.username == "operator.tabang").active
    assert client.post("/admin/pengguna/operator.tabang/aktifkan",
                       data={"csrf_token": token}).status_code == 303
    assert User.get(User.username == "operator.tabang").active
    r = client.post("/admin/pengguna/operator.tabang/reset-sandi", data={"csrf_token": token})
    assert r.status_code == 200 and one_time_from(r.get_data(as_text=True))
    assert User.get(User.username == "operator.tabang").must_change_password
    actions = [e.action for e in AuditEntry.select().order_by(AuditEntry.id)]
    assert actions == ["user.update", "user.disable", "user.enable", "user.reset_password"]


def test_an_admin_cannot_disable_themself_from_the_page(client):
    logged_in(client, "admin")
    token = csrf_from(client.get("/admin/pengguna/admin").get_data(as_text=True))
    r = client.post("/admin/pengguna/admin/nonaktifkan", data={"csrf_token": token})
    assert r.status_code == 403 and "menonaktifkan akun Anda sendiri" in r.get_data(
        as_text=True)
    assert User.get(User.username == "admin").active


def test_disabling_ends_the_console_session_at_once(client, app):
    operator = app.test_client()
    logged_in(operator, "operator.tabang")
    assert operator.get("/loket/").status_code == 200
    logged_in(client, "admin")
    token = csrf_from(client.get("/admin/pengguna/operator.tabang").get_data(as_text=True))
    client.post("/admin/pengguna/operator.tabang/nonaktifkan", data={"csrf_token": token})
    r = operator.get("/loket/")
    assert r.status_code == 302 and "/loket/masuk" in r.headers["Location"]


# --- the forced change ------------------------------------------------------------------------

def test_forced_change_after_a_one_time_password(client, app):
    admin = api_as(app.test_client(), "admin")
    password = admin.post("/api/v1/admin/users/operator.tabang/reset-password").json[
        "one_time_password"]
    r = client.post("/api/v1/auth/token", json={"username": "operator.tabang",
                                                "password": password})
    assert r.status_code == 403 and r.json["error"]["code"] == "password_change_required"
    r = login(client, "operator.tabang", password)
    assert r.headers["Location"].endswith("/loket/kata-sandi")
    # Every other page leads to the change page until it is done.
    for path in ("/loket/", "/loket/tabang/L1", "/admin", "/k/tabang"):
        r = client.get(path)
        assert r.status_code == 302 and r.headers["Location"].endswith("/loket/kata-sandi")
    r = client.get("/loket/", headers={"HX-Request": "true"})
    assert r.headers.get("HX-Redirect") == "/loket/kata-sandi"
    page = client.get("/loket/kata-sandi").get_data(as_text=True)
    assert "Ganti kata sandi" in page and "kata sandi sementara" in page
    token = csrf_from(page)

    def change(current, new, repeat):
        return client.post("/loket/kata-sandi", data={
            "current": current, "new": new, "repeat": repeat, "csrf_token": token})
    r = change(password, "sayangku123", "sayangku123")
    assert r.status_code == 422 and "terlalu umum" in r.get_data(as_text=True)
    r = change(password, GOOD, GOOD + "!")
    assert r.status_code == 422 and "tidak sama" in r.get_data(as_text=True)
    r = change(password, password, password)
    assert r.status_code == 422 and "berbeda dari yang lama" in r.get_data(as_text=True)
    r = change("salah-total-99", GOOD, GOOD)
    assert r.status_code == 422 and "sekarang salah" in r.get_data(as_text=True)
    r = change(password, GOOD, GOOD)
    assert r.status_code == 302 and r.headers["Location"].endswith("/loket/")
    assert client.get("/loket/").status_code == 200
    assert AuditEntry.select().where(AuditEntry.action == "user.change_password").count() == 1
    assert Api(app.test_client()).login("operator.tabang", GOOD).headers


def test_the_change_page_needs_a_login(client):
    r = client.get("/loket/kata-sandi")
    assert r.status_code == 302 and "/loket/masuk" in r.headers["Location"]


# --- the API ----------------------------------------------------------------------------------

def test_api_list_shape_and_scope(client):
    body = api_as(client, "admin").get("/api/v1/admin/users").json
    row = next(u for u in body["users"] if u["username"] == "officer.samsat")
    assert row == {"username": "officer.samsat", "name": "Petugas UPTD Samsat Tenggarong",
                   "role": "officer", "site": None, "agency": "samsat", "active": True,
                   "last_login_at": None, "locked": False}
    assert len(body["users"]) == User.select().count()
    mine = api_as(client, "supervisor.tabang").get("/api/v1/admin/users").json["users"]
    assert [u["username"] for u in mine] == ["operator.tabang"]
    searched = api_as(client, "admin").get("/api/v1/admin/users?q=induk").json["users"]
    assert {u["username"] for u in searched} == {"operator.induk", "supervisor.induk"}
    me = next(u for u in api_as(client, "admin").get("/api/v1/admin/users").json["users"]
              if u["username"] == "admin")
    assert me["last_login_at"].startswith("2026-11-30T09:") and me["last_login_at"].endswith(
        "+08:00")


@pytest.mark.parametrize("username, allowed", MATRIX)
def test_api_permission_matrix(client, username, allowed):
    api = api_as(client, username)
    r = api.get("/api/v1/admin/users")
    assert r.status_code == (200 if username.startswith(("admin", "supervisor")) else 403)
    r = api.post("/api/v1/admin/users", json=NEW_OPERATOR)
    assert r.status_code == (201 if allowed else 403), r.json
    if allowed:
        assert r.json["username"] == "operator2.tabang" and len(
            r.json["one_time_password"]) == 14
    r = patch(api, "/api/v1/admin/users/operator.tabang", {"name": "Rina"})
    assert r.status_code == (200 if allowed else 403)
    r = api.post("/api/v1/admin/users/operator.tabang/reset-password")
    assert r.status_code == (201 if allowed else 403)
    if allowed:
        assert set(r.json) == {"username", "one_time_password"}
    r = patch(api, "/api/v1/admin/users/operator.tabang", {"active": False})
    assert r.status_code == (200 if allowed else 403)
    assert User.get(User.username == "operator.tabang").active == (not allowed)


@pytest.mark.parametrize("method, path", [
    ("get", "/api/v1/admin/users"), ("post", "/api/v1/admin/users"),
    ("patch", "/api/v1/admin/users/operator.tabang"),
    ("post", "/api/v1/admin/users/operator.tabang/reset-password")])
def test_api_needs_a_token(client, method, path):
    r = getattr(client, method)(path, json={})
    assert r.status_code == 401 and r.json["error"]["code"] == "unauthorized"


def test_api_errors(client):
    admin = api_as(client, "admin")
    assert admin.post("/api/v1/admin/users", json={**NEW_OPERATOR, "role": "raja"}).json[
        "error"]["code"] == "invalid_role"
    r = admin.post("/api/v1/admin/users", json={**NEW_OPERATOR, "username": "operator.tabang"})
    assert r.status_code == 409 and r.json["error"]["code"] == "username_taken"
    r = admin.post("/api/v1/admin/users", json={"username": "x"})
    assert r.status_code == 422
    r = patch(admin, "/api/v1/admin/users/nobody.here", {"name": "X"})
    assert r.status_code == 404 and r.json["error"]["code"] == "unknown_user"
    r = patch(admin, "/api/v1/admin/users/operator.tabang", {"active": "no"})
    assert r.status_code == 422
    r = patch(admin, "/api/v1/admin/users/admin", {"active": False})
    assert r.status_code == 403 and r.json["error"]["code"] == "own_account"
    r = patch(admin, "/api/v1/admin/users/admin", {"role": "operator", "site": "tabang"})
    assert r.status_code == 409 and r.json["error"]["code"] == "last_admin"
    r = patch(admin, "/api/v1/admin/users/operator.tabang", {"role": "officer"})
    assert r.status_code == 422 and r.json["error"]["code"] == "missing_field"
    r = patch(admin, "/api/v1/admin/users/operator.tabang",
              {"role": "officer", "site": None, "agency": "samsat"})
    assert r.status_code == 200 and (r.json["role"], r.json["site"], r.json["agency"]) == (
        "officer", None, "samsat")


def test_api_disabling_ends_the_users_tokens_at_once(client, app):
    operator = api_as(app.test_client(), "operator.tabang")
    assert operator.post("/api/v1/sites/tabang/counters/L1/status",
                         json={"status": "open"}).status_code == 200
    admin = api_as(client, "admin")
    r = patch(admin, "/api/v1/admin/users/operator.tabang", {"active": False})
    assert r.status_code == 200 and r.json["active"] is False
    r = operator.post("/api/v1/sites/tabang/counters/L1/call-next")
    assert r.status_code == 401 and r.json["error"]["code"] == "invalid_token"
    r = patch(admin, "/api/v1/admin/users/operator.tabang", {"active": True})
    assert r.json["active"] is True
    assert AuditEntry.select().where(AuditEntry.action.in_(
        ["user.disable", "user.enable"])).count() == 2


def test_openapi_lists_the_rows(client):
    paths = client.get("/api/v1/openapi.json").json["paths"]
    assert {"get", "post"} <= set(paths["/api/v1/admin/users"])
    assert "patch" in paths["/api/v1/admin/users/{username}"]
    assert "post" in paths["/api/v1/admin/users/{username}/reset-password"]
