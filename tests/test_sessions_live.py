"""Sessions that really end, against a real gunicorn (issue 13): a console cookie saved
before logout is refused afterwards by the pages, the console's actions and the console
websocket, by every worker; a token revoked by `POST /api/v1/auth/logout` is refused."""
import pytest
import requests
import websocket

from .pages import csrf_from
from .servers import Server
from .test_boards_live import login_session, refusal


def cookie_header(session: requests.Session) -> str:
    return "; ".join(f"{k}={v}" for k, v in session.cookies.items())


@pytest.mark.slow
def test_a_replayed_cookie_and_a_revoked_token_are_refused(tmp_path):
    with Server(tmp_path / "srv", workers=2, threads=8) as server:
        staff = login_session(server)
        page = staff.get(f"{server.url}/loket/", timeout=10)
        assert page.status_code == 200 and "Loket 1" in page.text
        token = csrf_from(page.text)
        saved = dict(staff.cookies.items())  # with the CSRF token the console page set
        ws_url = server.url.replace("http://", "ws://") + "/ws/loket/tabang"
        ws = websocket.WebSocket()
        ws.connect(ws_url, cookie=cookie_header(staff), origin=server.url, timeout=10)
        ws.close()

        r = staff.post(f"{server.url}/loket/keluar", data={"csrf_token": token},
                       allow_redirects=False, timeout=10)
        assert r.status_code == 302

        replayed = "; ".join(f"{k}={v}" for k, v in saved.items())  # the very same cookie
        for _ in range(4):  # whichever worker answers
            r = requests.get(f"{server.url}/loket/", headers={"Cookie": replayed},
                             allow_redirects=False, timeout=10)
            assert r.status_code == 302 and "/loket/masuk" in r.headers["Location"]
            r = requests.post(f"{server.url}/loket/tabang/L1/open-counter",
                              headers={"Cookie": replayed, "HX-Request": "true",
                                       "X-CSRFToken": token},
                              allow_redirects=False, timeout=10)
            assert r.status_code == 401 and "/loket/masuk" in r.headers["HX-Redirect"]
            assert refusal(ws_url, cookie=replayed, origin=server.url) == 401

        bearer = {"Authorization": f"Bearer {server.token('operator.tabang')}"}
        status = f"{server.url}/api/v1/sites/tabang/counters/L1/status"
        r = requests.post(status, json={"status": "open"}, headers=bearer, timeout=10)
        assert r.status_code == 200
        r = requests.post(f"{server.url}/api/v1/auth/logout", headers=bearer, timeout=10)
        assert r.status_code == 204
        for _ in range(4):
            r = requests.post(status, json={"status": "open"}, headers=bearer, timeout=10)
            assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_token"
