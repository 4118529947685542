"""Odd input to the administration answers 4xx with the JSON error, never a 500: digits
that are not ASCII ("²" passes str.isdigit), keys that are not fields, wrong types."""
import pytest

from .pages import logged_in


@pytest.fixture
def admin(api):
    return api.login("admin")


@pytest.mark.parametrize("method, path, body, status", [
    ("put", "/api/v1/admin/sites/tabang/hours",
     {"windows": [{"weekday": "²", "start": "08:00", "end": "12:00"}]}, 422),
    ("post", "/api/v1/admin/sites/tabang/counters",
     {"code": "L8", "name": "Loket 8", "number": "²", "services": ["INFO"]}, 422),
    ("patch", "/api/v1/admin/services/ADM-KTP", {"now": 1}, 422),
    ("post", "/api/v1/admin/services",
     {"code": "ADM-X", "name": "X", "agency": "disdukcapil", "prefix": "A", "actor": 1}, 422),
    ("patch", "/api/v1/admin/services/ADM-KTP", {"mini": []}, 422),
    ("put", "/api/v1/admin/sites/tabang/services/ADM-KTP",
     {"offered": True, "daily_quota": "²"}, 422),
    ("delete", "/api/v1/admin/sites/tabang/closures/day-²", None, 404),
])
def test_api(admin, method, path, body, status):
    r = getattr(admin.client, method)(path, json=body, headers=admin.headers)
    assert r.status_code == status, r.get_data(as_text=True)
    assert r.json["error"]["code"]


@pytest.mark.parametrize("path", ["/admin/lokasi/tabang/jam?saved=²",
                                  "/admin/lokasi/tabang/tutup?cancelled=²"])
def test_pages(client, db, path):
    logged_in(client, "admin")
    assert client.get(path).status_code == 200
