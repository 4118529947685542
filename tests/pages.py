"""Driving the server-rendered pages through the test client: the CSRF token every page
carries, and the staff login."""
import re


def csrf_from(html: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html) or re.search(
        r'"X-CSRFToken": "([^"]+)"', html)
    assert match, "no CSRF token on the page"
    return match.group(1)


def login(client, username="operator.tabang", password="demo"):
    """Log in through /loket/masuk as a person would; the response."""
    page = client.get("/loket/masuk").get_data(as_text=True)
    return client.post("/loket/masuk", data={"username": username, "password": password,
                                             "csrf_token": csrf_from(page)})


def logged_in(client, username):
    r = login(client, username)
    assert r.status_code == 302, r.get_data(as_text=True)
