"""Cases over HTTP: the JSON API (intake, uploads, receipt, tracking, the officers'
inbox), the signed sync endpoints, and the pages."""
import json
import logging
import secrets
import time

import pytest

from app import centre_link
from app.db import database
from app.domain import link_rows
from app.models import Case, ForwardingMessage, InboxMessage

from .casekit import NIK, big_pdf_bytes, bomb_png, png_bytes
from .conftest import Api
from .pages import logged_in

KEY = "tabang-test-key"


@pytest.fixture
def app(template_dir, tmp_path):
    """The shared fixture's app, with a hall key and small caps for the upload tests."""
    import shutil

    from app import create_app
    from tests.servers import OPEN_MONDAY
    shutil.copy(template_dir / "mpp.sqlite3", tmp_path / "mpp.sqlite3")
    app = create_app({"DATA_DIR": str(tmp_path), "SECRET_KEY": "test",
                      "MPP_CLOCK_START": OPEN_MONDAY, "TESTING": True,
                      "SYNC_KEYS": f"tabang:{KEY},kota-bangun:other-key",
                      "UPLOAD_MAX_BYTES": str(3 * 1024 * 1024), "WTF_CSRF_ENABLED": False})
    database.connect(reuse_if_open=True)
    yield app
    if not database.is_closed():
        database.close()


def serve(api, site="tabang", counter="L1", service="ADM-KK"):
    r = api.post(f"/api/v1/sites/{site}/tickets", json={"service": service})
    assert r.status_code == 201, r.json
    r = api.post(f"/api/v1/sites/{site}/counters/{counter}/call-next")
    ticket = r.json["ticket"]
    assert api.post(f"/api/v1/tickets/{ticket['id']}/start").status_code == 200
    return ticket


def open_case(api, **extra):
    ticket = serve(api)
    body = {"ticket_id": ticket["id"], "service": "ADM-KK",
            "applicant": {"name": "Siti Rahmah", "nik": NIK, "phone": "081234567890"},
            "requirements": ["Formulir F-1.01"], "notes": "-", **extra}
    r = api.post("/api/v1/cases", json=body)
    assert r.status_code == 201, r.json
    return r.json["tracking_code"], ticket


@pytest.fixture
def operator(client):
    return Api(client).login("operator.tabang")


def test_open_case_over_the_api(operator):
    code, ticket = open_case(operator)
    t = operator.get(f"/api/v1/tickets/{ticket['id']}").json
    assert t["status"] == "done" and t["outcome"] == "case"
    case = operator.get(f"/api/v1/cases/{code}").json
    assert case["applicant"]["nik"] == NIK and case["status"] == "received"


@pytest.mark.parametrize("body,status,code", [
    ({}, 422, "missing_field"),
    ({"ticket_id": "0" * 32, "service": "ADM-KK", "applicant": {}}, 404, "unknown_ticket"),
    ({"ticket_id": "zz", "service": "ADM-KK"}, 404, "unknown_ticket"),
])
def test_open_case_bad_input(operator, body, status, code):
    r = operator.post("/api/v1/cases", json=body)
    assert r.status_code == status and r.json["error"]["code"] == code


def test_open_case_wrong_nik_and_other_hall(client, operator):
    ticket = serve(operator)
    body = {"ticket_id": ticket["id"], "service": "ADM-KK",
            "applicant": {"name": "X", "nik": "1234567890123456"}}
    r = operator.post("/api/v1/cases", json=body)
    assert r.status_code == 422 and r.json["error"]["code"] == "invalid_nik"
    other = Api(client).login("operator.kota-bangun")
    body["applicant"]["nik"] = NIK
    assert other.post("/api/v1/cases", json=body).status_code == 403
    assert operator.post("/api/v1/cases", data="nope",
                         content_type="application/json").status_code == 400


def multipart(data, name, field="file"):
    """The body built here, in memory: the test client would spool a large one to a
    temporary file it never closes."""
    boundary = "----mpp-test-boundary"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; "
            f"filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
            ).encode() + data + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def upload(api, code, data, name="scan.png"):
    body, content_type = multipart(data, name)
    return api.client.post(f"/api/v1/cases/{code}/attachments", headers=api.headers,
                           data=body, content_type=content_type)


def test_upload_and_download(operator, client):
    code, _ = open_case(operator)
    big_pdf = big_pdf_bytes()  # over the 1 MB cap
    r = upload(operator, code, big_pdf, "<script>.pdf")
    assert r.status_code == 201, r.json
    r = upload(operator, code, png_bytes(), "../../x.png")
    assert r.status_code == 201
    uid = r.json["id"]
    d = operator.get(f"/api/v1/cases/{code}/attachments/{uid}")
    assert d.status_code == 200 and d.data == png_bytes()
    assert d.headers["Content-Disposition"].startswith("attachment;")
    assert d.headers["X-Content-Type-Options"] == "nosniff"
    assert code in d.headers["Content-Disposition"] and ".." not in d.headers[
        "Content-Disposition"]
    d.close()
    assert client.get(f"/api/v1/cases/{code}/attachments/{uid}").status_code == 401
    other = Api(client).login("operator.kota-bangun")
    assert other.get(f"/api/v1/cases/{code}/attachments/{uid}").status_code == 403
    # the global cap still holds everywhere else
    r = operator.post("/api/v1/cases", data=b"x" * (2 * 1024 * 1024),
                      content_type="application/json")
    assert r.status_code == 413 and r.json["error"]["code"] == "payload_too_large"


@pytest.mark.parametrize("data,name,status,code", [
    (b"", "empty.pdf", 422, "empty_file"),
    (b"<html><body>hi</body></html>", "page.pdf", 422, "unsupported_file"),
    (None, "bomb.png", 422, "image_too_large"),
    (b"%PDF-1.4" + b"\0" * (4 * 1024 * 1024), "huge.pdf", 413, "payload_too_large"),
])
def test_hostile_uploads(operator, data, name, status, code):
    case_code, _ = open_case(operator)
    r = upload(operator, case_code, bomb_png() if data is None else data, name)
    assert r.status_code == status and r.json["error"]["code"] == code


def test_upload_without_file_field(operator):
    code, _ = open_case(operator)
    body, content_type = multipart(b"x", "a.txt", field="other")
    r = operator.client.post(f"/api/v1/cases/{code}/attachments", headers=operator.headers,
                             data=body, content_type=content_type)
    assert r.status_code == 422


def test_receipt_pdf(operator):
    code, _ = open_case(operator)
    r = operator.get(f"/api/v1/cases/{code}/receipt.pdf")
    assert r.status_code == 200 and r.data.startswith(b"%PDF")
    assert NIK.encode() not in r.data


def test_receipt_data_masks_nik(app, operator):
    from app.printing import receipts
    from app.web.urls import case_tracking_url
    code, _ = open_case(operator)
    with app.test_request_context():
        data = receipts.receipt_data(Case.get(Case.tracking_code == code),
                                     case_tracking_url(code))
    assert data.nik_masked == "6402********0001" and data.tracking_code == code
    assert data.requirements_received == ["Formulir F-1.01"]
    assert data.track_url.endswith(f"/lacak/{code}") and data.hall_name == "Mini MPP Tabang"


def test_public_tracking_has_no_personal_data(client, operator):
    code, _ = open_case(operator)
    r = client.get(f"/api/v1/track/{code.lower()}")
    assert r.status_code == 200 and r.json["status"] == "received"
    text = r.get_data(as_text=True)
    assert NIK not in text and "Siti" not in text and "0812" not in text
    page = client.get(f"/lacak/{code}").get_data(as_text=True)
    assert code in page and NIK not in page and "Siti" not in page
    assert client.get("/api/v1/track/KK-2222-2222").status_code == 404
    assert client.get("/lacak?kode=" + code.replace("-", "")).status_code == 303
    assert client.get("/lacak/nonsense").status_code == 404


# --- signed sync -----------------------------------------------------------------------

def signed(client, method, path, body=b"", site="tabang", key=KEY, **kw):
    headers = centre_link.signed_headers(site, key, method, path, body, **kw)
    headers["Content-Type"] = "application/json"
    return client.open(path, method=method, data=body, headers=headers), headers


def test_sync_roundtrip_in_process(client, operator):
    code, _ = open_case(operator)
    messages = [{"body": m.body} for m in ForwardingMessage.select()]
    body = json.dumps({"messages": messages}).encode()
    r, _ = signed(client, "POST", "/api/v1/sync/cases", body)
    assert r.status_code == 200 and r.json["results"][0]["status"] == "stored"
    r, _ = signed(client, "POST", "/api/v1/sync/cases", body)
    assert r.json["results"][0]["status"] == "duplicate"
    assert client.get(f"/api/v1/track/{code}").json["status"] == "forwarded"
    r, _ = signed(client, "GET", "/api/v1/sync/updates?since=0")
    assert r.status_code == 200 and r.json["cursor"] == 0  # all-in-one: nothing to pull


def test_refused_sync_requests_are_logged(client, operator, caplog):
    open_case(operator)
    body = json.dumps({"messages": [{"body": m.body} for m in ForwardingMessage.select()]}
                      ).encode()
    path = "/api/v1/sync/cases"
    caplog.set_level(logging.WARNING, logger="mpp.sync")
    r = client.post(path, data=body, content_type="application/json")
    assert r.status_code == 401 and r.json["error"]["code"] == "unsigned"
    r, _ = signed(client, "POST", path, body, key="wrong")
    assert r.json["error"]["code"] == "bad_signature"
    r, _ = signed(client, "POST", path, body, timestamp=int(time.time()) - 3600)
    assert r.json["error"]["code"] == "clock_skew"
    r, _ = signed(client, "POST", path, body, site="muara-wis")
    assert r.json["error"]["code"] == "unknown_site_key"
    r, headers = signed(client, "POST", path, body)
    assert r.status_code == 200
    replay = client.post(path, data=body, headers=headers)
    assert replay.status_code == 401 and replay.json["error"]["code"] == "replayed"
    tampered = dict(headers, **{"X-MPP-Nonce": "ab" * 16})
    assert client.post(path, data=body + b" ", headers=tampered).json["error"]["code"] == \
        "bad_signature"
    # cross-hall: kota-bangun signs correctly but sends tabang's messages
    r, _ = signed(client, "POST", path, body, site="kota-bangun", key="other-key")
    assert r.status_code == 200 and r.json["results"][0]["code"] == "wrong_site"
    logged = caplog.text
    for reason in ("unsigned", "bad_signature", "clock_skew", "unknown_site_key", "replayed",
                   "wrong_site"):
        assert reason in logged
    assert NIK not in logged
    assert InboxMessage.select().count() == 1


def test_sync_bad_bodies_are_4xx(client):
    for body in (b"{}", b"[]", b"not json", json.dumps({"messages": [1, {"body": 2}]}).encode()):
        r, _ = signed(client, "POST", "/api/v1/sync/cases", body)
        assert 200 <= r.status_code < 500
        if r.status_code == 200:
            assert all(x["status"] == "refused" for x in r.json["results"])
    r, _ = signed(client, "GET", "/api/v1/sync/updates?since=abc")
    assert r.status_code == 422


def test_site_role_has_no_centre_endpoints(template_dir, tmp_path):
    import shutil

    from app import create_app
    shutil.copy(template_dir / "mpp.sqlite3", tmp_path / "mpp.sqlite3")
    hall = create_app({"DATA_DIR": str(tmp_path), "SECRET_KEY": "t", "MPP_ROLE": "site",
                       "MPP_SITES": "tabang"})
    try:
        c = hall.test_client()
        assert c.post("/api/v1/sync/cases", json={}).status_code == 404
        assert c.get("/api/v1/central/cases").status_code in (401, 404)
    finally:
        link_rows.configure("all-in-one")


# --- officers ------------------------------------------------------------------------

def test_officer_inbox_and_status(client, operator):
    code, _ = open_case(operator)
    officer = Api(client).login("officer.disdukcapil")
    rows = officer.get("/api/v1/central/cases?site=tabang").json["cases"]
    assert [r["tracking_code"] for r in rows] == [code]
    assert set(rows[0]) == {"tracking_code", "site", "service", "agency", "status",
                            "received_at", "updated_at"}
    assert Api(client).login("officer.polres").get("/api/v1/central/cases").json[
        "cases"] == []
    assert operator.get("/api/v1/central/cases").status_code == 403
    r = officer.post(f"/api/v1/central/cases/{code}/status", json={"status": "processing"})
    assert r.status_code == 409  # not forwarded yet
    r = officer.post(f"/api/v1/central/cases/{code}/status", json={"status": "flying"})
    assert r.status_code == 422
    messages = [{"body": m.body} for m in ForwardingMessage.select()]
    signed(client, "POST", "/api/v1/sync/cases", json.dumps({"messages": messages}).encode())
    r = officer.post(f"/api/v1/central/cases/{code}/status",
                     json={"status": "needs_fix", "missing": "Pengantar RT belum dicap"})
    assert r.status_code == 200 and r.json["status"] == "needs_fix"
    t = client.get(f"/api/v1/track/{code}").json
    assert t["status"] == "needs_fix" and t["missing"] == "Pengantar RT belum dicap"
    assert officer.get(f"/api/v1/central/cases/{code}").json["applicant"]["nik"] == NIK


def test_openapi_lists_every_cases_route(app, client):
    doc = client.get("/api/v1/openapi.json").json
    documented = {(m, p) for p, ops in doc["paths"].items() for m in ops}
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("cases_api.") and rule.rule.startswith("/api/"):
            path = rule.rule.replace("<code>", "{tracking_code}").replace(
                "<site_code>", "{site}").replace("<uid>", "{id}")
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                assert (method.lower(), path) in documented, (method, path)


# --- pages ---------------------------------------------------------------------------

def test_console_buka_berkas_flow(client, operator):
    ticket = serve(operator)
    logged_in(client, "operator.tabang")
    panel = client.get("/loket/tabang/L1").get_data(as_text=True)
    assert "Buka berkas" in panel
    form = client.get(f"/loket/tabang/L1/berkas?ticket={ticket['id']}")
    assert form.status_code == 200 and "Formulir F-1.01" in form.get_data(as_text=True)
    bad = client.post("/loket/tabang/L1/berkas", data={
        "ticket": ticket["id"], "service": "ADM-KK", "name": "Siti", "nik": "123"})
    assert bad.status_code == 422
    r = client.post("/loket/tabang/L1/berkas", data={
        "ticket": ticket["id"], "service": "ADM-KK", "name": "Siti Rahmah", "nik": NIK,
        "phone": "081234567890", "requirement": ["Formulir F-1.01"], "notes": "x"})
    assert r.status_code == 303
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "6402********0001" in page and NIK not in page
    code = Case.get().tracking_code
    body, content_type = multipart(png_bytes(), "foto.png")
    r = client.post(f"/loket/berkas/{code}/lampiran", data=body, content_type=content_type,
                    headers={"HX-Request": "true"})
    assert r.status_code == 200 and "foto.png" in r.get_data(as_text=True)
    assert client.get(f"/loket/berkas/{code}/tanda-terima.pdf").data.startswith(b"%PDF")


def test_officer_pages_and_link_status(client, operator):
    code, _ = open_case(operator)
    logged_in(client, "officer.disdukcapil")
    inbox = client.get("/pusat/berkas?status=received").get_data(as_text=True)
    assert code in inbox
    assert code in client.get(f"/pusat/berkas/{code}").get_data(as_text=True)
    r = client.post(f"/pusat/berkas/{code}/status", data={"status": "done"})
    assert r.status_code == 409
    client.post("/loket/keluar")
    logged_in(client, "supervisor.tabang")
    page = client.get("/pengawas/tabang/tautan").get_data(as_text=True)
    assert 'data-link="waiting">1 (1 berkas baru)' in page
    assert client.get("/pengawas/kota-bangun/tautan").status_code == 403


def test_html_upload_above_the_global_cap_with_csrf(app, client, operator):
    import re
    code, _ = open_case(operator)
    logged_in(client, "operator.tabang")
    app.config["WTF_CSRF_ENABLED"] = True
    page = client.get(f"/loket/berkas/{code}").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    big_pdf = big_pdf_bytes()
    body, content_type = multipart(big_pdf, "scan.pdf")
    r = client.post(f"/loket/berkas/{code}/lampiran", data=body, content_type=content_type,
                    headers={"X-CSRFToken": token, "HX-Request": "true"})
    assert r.status_code == 200, r.get_data(as_text=True)[:300]
    assert "scan.pdf" in r.get_data(as_text=True)
    r = client.post(f"/loket/berkas/{code}/lampiran", data=body, content_type=content_type,
                    headers={"HX-Request": "true"})
    assert r.status_code == 400  # no token: refused


def test_supervisor_finds_the_link_status(client):
    logged_in(client, "supervisor.tabang")
    page = client.get("/loket/").get_data(as_text=True)
    assert "/pengawas/tabang/tautan" in page
    r = client.get("/pengawas/tabang/tautan", headers={"HX-Request": "true"})
    assert r.status_code == 200 and "<html" not in r.get_data(as_text=True)


def test_operator_finds_a_case_by_code(client, operator):
    code, _ = open_case(operator)
    logged_in(client, "operator.tabang")
    page = client.get("/loket/berkas").get_data(as_text=True)
    assert code in page and NIK not in page
    r = client.get("/loket/berkas?kode=" + code.lower())
    assert r.status_code == 303 and r.headers["Location"].endswith(f"/loket/berkas/{code}")
    assert "Kode tidak valid" in client.get("/loket/berkas?kode=zzz").get_data(as_text=True)


def _message(kind, data, site="tabang", code="KK-2345-6789", **extra):
    body = {"id": secrets.token_hex(16), "kind": kind, "site": site, "tracking_code": code,
            "data": data, **extra}
    return {"body": json.dumps(body)}


HOSTILE = [
    ("case.opened", {"applicant": "x"}),
    ("case.opened", {"tracking_code": "KK-2345-6789", "applicant": ["a"]}),
    ("case.opened", {"tracking_code": "KK-2345-6789", "service": "ADM-KK",
                     "applicant": {"name": "A", "nik": NIK}, "received_at": "yesterday"}),
    ("case.opened", {"tracking_code": "KK-2345-6789", "service": "ADM-KK",
                     "applicant": {"name": "A", "nik": NIK},
                     "received_at": "2026-11-30T01:00:00", "history": ["x", 3]}),
    ("case.attachment", {"uid": "../../etc/passwd"}),
    ("case.status", {"event": "picked_up"}),
    ("case.status", {"event": {"uid": 5, "status": "done", "at": 7}}),
    ("appointment.booked", {}),
]


def test_hostile_sync_messages_are_refused_not_500(client):
    messages = [_message(kind, data) for kind, data in HOSTILE]
    messages += [_message("case.opened", {}) for _ in range(3)]  # a run: multi-row path
    messages += [{"body": "{}"}, {"body": "[1]"}, {"nobody": 1}, "x",
                 {"body": json.dumps({"id": "1" * 32, "kind": "case.opened", "data": {}})}]
    body = json.dumps({"messages": messages}).encode()
    r, _ = signed(client, "POST", "/api/v1/sync/cases", body)
    assert r.status_code == 200, r.get_data(as_text=True)
    results = r.json["results"]
    assert len(results) == len(messages)
    assert all(x["status"] == "refused" for x in results), results
    assert Case.select().count() == 0 and InboxMessage.select().count() == 0


def test_bad_input_to_case_endpoints_is_4xx(client, operator):
    code, ticket = open_case(operator)
    officer = Api(client).login("officer.disdukcapil")
    attempts = [
        operator.post("/api/v1/cases", json={"ticket_id": ticket["id"], "service": 5}),
        operator.post("/api/v1/cases", json={"ticket_id": ticket["id"], "service": "ADM-KK",
                                             "applicant": ["x"]}),
        operator.post("/api/v1/cases", json={"ticket_id": ticket["id"], "service": "ADM-KK",
                                             "applicant": {"name": "A", "nik": NIK},
                                             "requirements": [{"item": 5}], "notes": 7}),
        operator.post(f"/api/v1/cases/{code}/status", json={"status": "done"}),
        operator.post(f"/api/v1/cases/{code}/status", json={"status": "picked_up",
                                                            "note": ["x"]}),
        operator.get(f"/api/v1/cases/{code}/attachments/zz"),
        operator.get("/api/v1/cases/%00%2F..%2F/receipt.pdf"),
        officer.post(f"/api/v1/central/cases/{code}/status", json={"status": 3}),
        officer.post(f"/api/v1/central/cases/{code}/status",
                     json={"status": "needs_fix", "missing": {"a": 1}}),
        officer.get("/api/v1/central/cases?status=bogus"),
        officer.post("/api/v1/central/cases/KK-2222-2222/status", json={"status": "done"}),
        client.get("/api/v1/track/" + "A" * 5000),
        client.get("/lacak?kode=" + "%FF" * 100),
    ]
    for r in attempts:
        assert 400 <= r.status_code < 500, (r.status_code, r.get_data(as_text=True)[:200])


def test_tracking_is_rate_limited_per_client(client):
    codes = [client.get("/api/v1/track/KK-7H3M-Q9XP").status_code for _ in range(61)]
    assert codes[:60] == [404] * 60
    assert codes[60] == 429
    r = client.get("/lacak/KK-7H3M-Q9XP")
    assert r.status_code == 429


def test_a_pull_reports_the_catalogue_version_the_hall_runs(client, db):
    from app.domain import catalogue_feed
    r, _ = signed(client, "GET", "/api/v1/sync/updates?since=0&limit=10&catalogue=4")
    assert r.status_code == 200
    assert catalogue_feed.site_versions() == {"tabang": 4}
    r, _ = signed(client, "GET", "/api/v1/sync/updates?since=0&catalogue=x" + "9" * 30)
    assert r.status_code == 200 and catalogue_feed.site_versions() == {"tabang": 4}
