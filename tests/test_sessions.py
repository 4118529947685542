"""Sessions that really end (issue 13): a console cookie saved before logging out is
refused afterwards, API tokens expire after TOKEN_LIFETIME_HOURS, `POST
/api/v1/auth/logout` revokes the caller's token, and a password change, a reset or a
disabled account ends every session and token of that user at once."""
import datetime as dt

from app.web.openapi import document

from .conftest import Api
from .pages import csrf_from, logged_in

GOOD = "Kapal-Mahakam-77"


class StepClock:
    """The app's clock, moved on by hand."""

    def __init__(self, start: dt.datetime):
        self.moment = start

    def now(self) -> dt.datetime:
        return self.moment

    def advance(self, **delta):
        self.moment += dt.timedelta(**delta)


def step_clock(app) -> StepClock:
    app.clock = StepClock(app.clock.now())
    return app.clock


def saved_cookie(client) -> str:
    cookie = client.get_cookie("session")
    assert cookie is not None
    return cookie.value


def signs_in(client) -> bool:
    """Whether the console opens with this client's cookie (not the login page)."""
    r = client.get("/loket/")
    return r.status_code == 200


def logout(client):
    page = client.get("/loket/").get_data(as_text=True)
    r = client.post("/loket/keluar", data={"csrf_token": csrf_from(page)})
    assert r.status_code == 302


def test_a_cookie_saved_before_logout_is_refused_afterwards(app, client):
    logged_in(client, "operator.tabang")
    assert signs_in(client)
    cookie = saved_cookie(client)
    token = csrf_from(client.get("/loket/").get_data(as_text=True))
    logout(client)
    assert not signs_in(client)
    replay = app.test_client()
    replay.set_cookie("session", cookie)
    r = replay.get("/loket/")
    assert r.status_code == 302 and "/loket/masuk" in r.headers["Location"]
    # Nor does it act: the console's call on the replayed cookie leads to the login.
    r = replay.post("/loket/tabang/L1/open-counter",
                    headers={"HX-Request": "true", "X-CSRFToken": token})
    assert r.status_code == 401 and "/loket/masuk" in r.headers["HX-Redirect"]


def test_logout_ends_only_that_session(app):
    one, two = app.test_client(), app.test_client()
    logged_in(one, "operator.tabang")
    logged_in(two, "operator.tabang")
    logout(one)
    assert not signs_in(one) and signs_in(two)


def test_a_password_change_ends_every_session_and_token_of_that_user(app):
    here, elsewhere = app.test_client(), app.test_client()
    logged_in(here, "operator.tabang")
    logged_in(elsewhere, "operator.tabang")
    token = Api(app.test_client()).login("operator.tabang")
    assert token.post("/api/v1/sites/tabang/counters/L1/status",
                      json={"status": "open"}).status_code == 200
    page = here.get("/loket/kata-sandi").get_data(as_text=True)
    r = here.post("/loket/kata-sandi", data={"current": "demo", "new": GOOD, "repeat": GOOD,
                                             "csrf_token": csrf_from(page)})
    assert r.status_code == 302
    assert signs_in(here)  # who changed it goes on, in a new session
    assert not signs_in(elsewhere)
    r = token.post("/api/v1/sites/tabang/counters/L1/status", json={"status": "open"})
    assert r.status_code == 401 and r.json["error"]["code"] == "invalid_token"


def test_a_reset_password_ends_every_session_of_that_user(app):
    operator, admin = app.test_client(), Api(app.test_client()).login("admin")
    logged_in(operator, "operator.tabang")
    r = admin.post("/api/v1/admin/users/operator.tabang/reset-password")
    assert r.status_code == 201
    assert not signs_in(operator)


def test_disabling_a_user_ends_its_sessions_and_tokens(app):
    operator, admin = app.test_client(), Api(app.test_client()).login("admin")
    logged_in(operator, "operator.tabang")
    token = Api(app.test_client()).login("operator.tabang")
    r = admin.client.patch("/api/v1/admin/users/operator.tabang", json={"active": False},
                           headers=admin.headers)
    assert r.status_code == 200
    assert not signs_in(operator)
    assert token.get("/api/v1/admin/users").status_code == 401
    # Enabled again, the old session stays ended: a new login is needed.
    r = admin.client.patch("/api/v1/admin/users/operator.tabang", json={"active": True},
                           headers=admin.headers)
    assert r.status_code == 200
    assert not signs_in(operator)


def test_api_logout_revokes_the_callers_token_only(app):
    first = Api(app.test_client()).login("operator.tabang")
    second = Api(app.test_client()).login("operator.tabang")
    r = first.post("/api/v1/auth/logout")
    assert r.status_code == 204
    r = first.post("/api/v1/sites/tabang/counters/L1/status", json={"status": "open"})
    assert r.status_code == 401 and r.json["error"]["code"] == "invalid_token"
    assert first.post("/api/v1/auth/logout").status_code == 401
    r = second.post("/api/v1/sites/tabang/counters/L1/status", json={"status": "open"})
    assert r.status_code == 200


def test_api_logout_needs_a_token(client):
    r = client.post("/api/v1/auth/logout")
    assert r.status_code == 401 and r.json["error"]["code"] == "unauthorized"


def test_tokens_expire_after_the_configured_lifetime(app):
    clock = step_clock(app)
    app.config["TOKEN_LIFETIME_HOURS"] = 2
    api = Api(app.test_client()).login("operator.tabang")
    clock.advance(hours=1, minutes=59)
    assert api.get("/api/v1/admin/users").status_code == 403  # known, not an admin
    clock.advance(minutes=2)
    r = api.get("/api/v1/admin/users")
    assert r.status_code == 401 and r.json["error"]["code"] == "invalid_token"


def test_token_lifetime_is_a_setting(tmp_path):
    from app import create_app
    from app.config import SETTINGS
    default, meaning = SETTINGS["TOKEN_LIFETIME_HOURS"]
    assert default == "12" and "token" in meaning.lower()
    app = create_app({"DATA_DIR": str(tmp_path), "SECRET_KEY": "t",
                      "TOKEN_LIFETIME_HOURS": "0.5"})
    assert app.config["TOKEN_LIFETIME_HOURS"] == 0.5


def test_the_logout_route_is_in_the_openapi_document():
    operation = document()["paths"]["/api/v1/auth/logout"]["post"]
    assert {"204", "401"} <= set(operation["responses"])
