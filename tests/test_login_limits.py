"""Login limits that cannot lock a hall out (issue 13): limits per account and per
(account, address); the per-address limit slows down instead of locking every account
of the address out; `Retry-After` on every 429; a supervisor unlocks an operator of their
hall (admin anyone), and every lock and unlock is in the audit trail. Also: sync-status
is for supervisors."""
import pytest

from app.models import AuditEntry

from .conftest import Api
from .pages import csrf_from, logged_in
from .test_sessions import step_clock


def attempt(client, username, password="salah", address="10.0.0.7"):
    return client.post("/api/v1/auth/token", json={"username": username,
                                                   "password": password},
                       environ_base={"REMOTE_ADDR": address})


def retry_after(response) -> int:
    assert response.status_code == 429, response.get_data(as_text=True)
    value = int(response.headers["Retry-After"])
    assert value >= 1
    return value


def test_spraying_thirty_accounts_from_one_address_only_slows_it_down(app, client):
    clock = step_clock(app)
    for i in range(30):
        r = attempt(client, f"user{i}")
        if r.status_code == 429:  # slowed down: wait as told, then go on
            clock.advance(seconds=retry_after(r))
            r = attempt(client, f"user{i}")
        assert r.status_code == 401
    # A colleague on the same hall Wi-Fi, whose account has no failures: in at most a
    # minute, waiting as told.
    waited = 0
    r = attempt(client, "supervisor.tabang", "demo")
    while r.status_code == 429 and waited <= 60:
        wait = retry_after(r)
        clock.advance(seconds=wait)
        waited += wait
        r = attempt(client, "supervisor.tabang", "demo")
    assert r.status_code == 200 and waited <= 60


def test_one_account_from_one_address_is_locked_with_retry_after(app, client):
    for _ in range(5):
        assert attempt(client, "operator.tabang").status_code == 401
    r = attempt(client, "operator.tabang", "demo")
    assert r.json["error"]["code"] == "too_many_attempts"
    assert 60 <= retry_after(r) <= 15 * 60
    # The same account from another address, and another account from this one, go on.
    assert attempt(client, "operator.tabang", "demo", address="10.0.0.8").status_code == 200
    assert attempt(client, "supervisor.tabang", "demo").status_code == 200


def test_one_account_from_many_addresses_is_locked(app, client):
    for i in range(10):
        assert attempt(client, "operator.tabang", address=f"10.0.1.{i}").status_code == 401
    r = attempt(client, "operator.tabang", "demo", address="10.0.2.1")
    assert r.json["error"]["code"] == "too_many_attempts"
    retry_after(r)
    assert attempt(client, "supervisor.tabang", "demo", address="10.0.2.1").status_code == 200


def test_the_login_page_answers_429_with_retry_after(app, client):
    for _ in range(5):
        attempt(client, "operator.tabang", address="127.0.0.1")
    page = client.get("/loket/masuk").get_data(as_text=True)
    r = client.post("/loket/masuk", data={"username": "operator.tabang", "password": "demo",
                                          "csrf_token": csrf_from(page)})
    retry_after(r)
    assert "Terlalu banyak percobaan masuk" in r.get_data(as_text=True)


def test_a_rate_limited_endpoint_answers_429_with_retry_after(app, client):
    app.config["SETTINGS"]["RATE_LIMIT_TRACK"] = "1/minute"
    client.get("/api/v1/track/XXXX-XXXX")
    retry_after(client.get("/api/v1/track/XXXX-XXXX"))


def lock_operator(client, address="10.0.0.7"):
    for _ in range(5):
        assert attempt(client, "operator.tabang", address=address).status_code == 401
    assert attempt(client, "operator.tabang", "demo", address=address).status_code == 429


def test_a_supervisor_unlocks_an_operator_of_their_hall_by_api(app, client):
    lock_operator(client)
    lock = AuditEntry.get(AuditEntry.action == "user.lock")
    assert lock.object == "user operator.tabang" and lock.site_code == "tabang"
    assert lock.client == "10.0.0.7"
    other = Api(app.test_client()).login("supervisor.induk")
    r = other.post("/api/v1/admin/users/operator.tabang/unlock")
    assert r.status_code == 403
    assert attempt(client, "operator.tabang", "demo").status_code == 429
    supervisor = Api(app.test_client()).login("supervisor.tabang")
    r = supervisor.post("/api/v1/admin/users/operator.tabang/unlock")
    assert r.status_code == 200 and r.json["locked"] is False
    unlock = AuditEntry.get(AuditEntry.action == "user.unlock")
    assert unlock.actor == "supervisor.tabang" and unlock.object == "user operator.tabang"
    assert attempt(client, "operator.tabang", "demo").status_code == 200


def test_a_supervisor_cannot_unlock_a_supervisor_but_admin_can(app, client):
    for _ in range(5):
        attempt(client, "supervisor.induk")
    supervisor = Api(app.test_client()).login("supervisor.tabang")
    assert supervisor.post("/api/v1/admin/users/supervisor.induk/unlock").status_code == 403
    admin = Api(app.test_client()).login("admin")
    assert admin.post("/api/v1/admin/users/supervisor.induk/unlock").status_code == 200
    assert attempt(client, "supervisor.induk", "demo").status_code == 200


def test_unlock_from_the_staff_page(app, client):
    lock_operator(client)
    page_client = app.test_client()
    logged_in(page_client, "supervisor.tabang")
    page = page_client.get("/admin/pengguna/operator.tabang").get_data(as_text=True)
    assert "Terkunci" in page and "buka-kunci" in page
    r = page_client.post("/admin/pengguna/operator.tabang/buka-kunci",
                         data={"csrf_token": csrf_from(page)})
    assert r.status_code == 303
    page = page_client.get(r.headers["Location"]).get_data(as_text=True)
    assert "Terkunci" not in page
    assert AuditEntry.select().where(AuditEntry.action == "user.unlock").count() == 1
    assert attempt(client, "operator.tabang", "demo").status_code == 200


def test_the_api_lists_whether_an_account_is_locked(app, client):
    lock_operator(client)
    admin = Api(app.test_client()).login("admin")
    rows = {u["username"]: u for u in admin.get("/api/v1/admin/users").json["users"]}
    assert rows["operator.tabang"]["locked"] is True
    assert rows["supervisor.tabang"]["locked"] is False


@pytest.mark.parametrize("username, status", [("operator.tabang", 403),
                                              ("supervisor.tabang", 200), ("admin", 200)])
def test_sync_status_is_for_supervisors(api, username, status):
    api.login(username)
    assert api.get("/api/v1/sites/tabang/sync-status").status_code == status


@pytest.mark.postgres
def test_limits_sessions_and_unlock_on_postgres(pg_app):
    client = pg_app.test_client()
    clock = step_clock(pg_app)
    for i in range(12):
        r = attempt(client, f"user{i}")
        if r.status_code == 429:
            clock.advance(seconds=retry_after(r))
            r = attempt(client, f"user{i}")
        assert r.status_code == 401
    lock_operator(client, "10.0.0.9")
    supervisor = Api(pg_app.test_client()).login("supervisor.tabang")
    rows = {u["username"]: u for u in supervisor.get("/api/v1/admin/users").json["users"]}
    assert rows["operator.tabang"]["locked"] is True
    assert supervisor.post("/api/v1/admin/users/operator.tabang/unlock").status_code == 200
    assert [e.action for e in AuditEntry.select().order_by(AuditEntry.id)] == [
        "user.lock", "user.unlock"]
    assert attempt(client, "operator.tabang", "demo", address="10.0.0.9").status_code == 200
    # A console session on PostgreSQL ends at logout too.
    console = pg_app.test_client()
    logged_in(console, "operator.tabang")
    cookie = console.get_cookie("session").value
    page = console.get("/loket/").get_data(as_text=True)
    console.post("/loket/keluar", data={"csrf_token": csrf_from(page)})
    replay = pg_app.test_client()
    replay.set_cookie("session", cookie)
    assert replay.get("/loket/").status_code == 302


def test_the_cli_unlocks_a_locked_admin(app, client):
    for i in range(10):
        assert attempt(client, "admin", address=f"10.0.3.{i}").status_code == 401
    assert attempt(client, "admin", "demo", address="10.0.4.1").status_code == 429
    result = app.test_cli_runner().invoke(args=["mpp", "unlock-user", "admin"])
    assert result.exit_code == 0 and "unlocked" in result.output, result.output
    entry = AuditEntry.get(AuditEntry.action == "user.unlock")
    assert entry.actor == "system"
    assert attempt(client, "admin", "demo", address="10.0.4.1").status_code == 200
    result = app.test_cli_runner().invoke(args=["mpp", "unlock-user", "nobody"])
    assert result.exit_code != 0 and "tidak ditemukan" in result.output


def test_any_429_says_when_to_come_back(app):
    """A 429 from anywhere (a domain error that names no wait) still has Retry-After."""
    from app.errors import DomainError

    def busy():
        raise DomainError("Terlalu banyak.", code="too_many_requests", status=429)
    app.add_url_rule("/api/v1/test-busy", "test_busy", busy)
    r = app.test_client().get("/api/v1/test-busy")
    assert retry_after(r) == 60 and r.json["error"]["code"] == "too_many_requests"
