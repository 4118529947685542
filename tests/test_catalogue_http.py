"""The catalogue's pages and admin API over HTTP: who may open and change what
(admin, supervisor of this hall, supervisor of another hall, operator, officer,
anonymous), the forms, the confirmations and the public standards page."""
import pytest

from app.domain import queueing
from app.models import Agency, Appointment, AuditEntry, Closure, Site, SiteService

from .pages import csrf_from, logged_in
from .test_booking import NIKS, book

PEOPLE = ["admin", "supervisor.tabang", "supervisor.induk", "operator.tabang",
          "officer.disdukcapil"]
ADMIN_ONLY = dict(zip(PEOPLE, (200, 403, 403, 403, 403)))
HALL = dict(zip(PEOPLE, (200, 200, 403, 403, 403)))


def token(api, username):
    return api.login(username) if username else api


# --- the permission matrix -----------------------------------------------------------------

@pytest.mark.parametrize("path, matrix", [
    ("/admin/instansi", ADMIN_ONLY), ("/admin/layanan", ADMIN_ONLY),
    ("/admin/layanan/baru", ADMIN_ONLY), ("/admin/layanan/ADM-KTP", ADMIN_ONLY),
    ("/admin/layanan-lokasi", ADMIN_ONLY), ("/admin/lokasi/tabang/layanan", ADMIN_ONLY),
    ("/admin/lokasi/tabang/jam", HALL), ("/admin/lokasi/tabang/tutup", HALL),
    ("/admin/lokasi/all/tutup", ADMIN_ONLY)])
@pytest.mark.parametrize("username", PEOPLE)
def test_pages_who_may_open(client, db, path, matrix, username):
    logged_in(client, username)
    assert client.get(path).status_code == matrix[username]


@pytest.mark.parametrize("path", ["/admin/instansi", "/admin/layanan",
                                  "/admin/lokasi/tabang/jam", "/admin/lokasi/tabang/tutup"])
def test_pages_send_anonymous_to_login(client, db, path):
    r = client.get(path)
    assert r.status_code == 302 and "/loket/masuk" in r.headers["Location"]


@pytest.mark.parametrize("method, path, body, matrix", [
    ("get", "/api/v1/admin/agencies", None, ADMIN_ONLY),
    ("get", "/api/v1/admin/services", None, ADMIN_ONLY),
    ("patch", "/api/v1/admin/agencies/kemenag", {"name": "KUA Kemenag"}, ADMIN_ONLY),
    ("patch", "/api/v1/admin/services/INFO", {"fee": "Gratis"}, ADMIN_ONLY),
    ("put", "/api/v1/admin/sites/tabang/services/INFO",
     {"offered": True, "daily_quota": 50, "booking_share": 0.2}, ADMIN_ONLY),
    ("get", "/api/v1/admin/sites/tabang/hours", None, HALL),
    ("get", "/api/v1/admin/sites/tabang/closures", None, HALL),
    ("get", "/api/v1/admin/sites/all/closures", None, ADMIN_ONLY),
])
@pytest.mark.parametrize("username", PEOPLE + [None])
def test_api_who_may_call(api, db, method, path, body, matrix, username):
    caller = token(api, username)
    kw = {"json": body} if body is not None else {}
    r = getattr(caller.client, method)(path, headers=caller.headers, **kw)
    assert r.status_code == (matrix[username] if username else 401), r.json


@pytest.mark.parametrize("username, status", [
    ("admin", 201), ("supervisor.tabang", 201), ("supervisor.induk", 403),
    ("operator.tabang", 403), ("officer.disdukcapil", 403), (None, 401)])
def test_closure_api_who_may_close(api, db, username, status):
    r = token(api, username).post("/api/v1/admin/sites/tabang/closures",
                                  json={"from": "2026-12-01", "reason": "Rapat"})
    assert r.status_code == status


@pytest.mark.parametrize("username, status", [
    ("admin", 200), ("supervisor.tabang", 403), ("operator.tabang", 403)])
def test_only_admin_changes_hours(api, db, username, status):
    current = api.login("admin").get("/api/v1/admin/sites/tabang/hours").json["windows"]
    r = api.login(username).client.put("/api/v1/admin/sites/tabang/hours",
                                       json={"windows": current}, headers=api.headers)
    assert r.status_code == status


def test_only_admin_creates_agencies_services_and_days_off(api, db):
    api.login("supervisor.tabang")
    assert api.post("/api/v1/admin/agencies", {"code": "dinkes", "name": "Dinkes"}
                    ).status_code == 403
    assert api.post("/api/v1/admin/services", {"code": "X-1"}).status_code == 403
    assert api.post("/api/v1/admin/sites/all/closures",
                    {"from": "2026-12-01", "reason": "Libur"}).status_code == 403


# --- the API rows --------------------------------------------------------------------------

def test_agencies_api(api, db):
    api.login("admin")
    r = api.post("/api/v1/admin/agencies", {"code": "dinkes", "name": "Dinas Kesehatan"})
    assert r.status_code == 201 and r.json == {"code": "dinkes", "name": "Dinas Kesehatan"}
    assert api.post("/api/v1/admin/agencies", {"code": "dinkes", "name": "X"}
                    ).status_code == 409
    assert api.post("/api/v1/admin/agencies", {"code": "Dinas Kes", "name": "X"}
                    ).json["error"]["code"] == "invalid_code"
    r = api.client.patch("/api/v1/admin/agencies/dinkes", json={"name": "Dinkes Kukar"},
                         headers=api.headers)
    assert r.json == {"code": "dinkes", "name": "Dinkes Kukar"}
    assert api.client.patch("/api/v1/admin/agencies/nope", json={"name": "x"},
                            headers=api.headers).status_code == 404
    codes = [a["code"] for a in api.get("/api/v1/admin/agencies").json["agencies"]]
    assert "dinkes" in codes and "disdukcapil" in codes


def test_services_api(api, db):
    api.login("admin")
    body = {"code": "DKS-SEHAT", "name": "Surat Keterangan Sehat", "agency": "disdukcapil",
            "prefix": "S", "requirements": ["KTP"], "target_wait_minutes": 15,
            "fee": "Rp10.000", "processing_days": 0, "standard": "Standar"}
    r = api.post("/api/v1/admin/services", body)
    assert r.status_code == 201
    assert {k: r.json[k] for k in body} == body
    assert api.post("/api/v1/admin/services", body).status_code == 409
    for bad, code in [({"prefix": "abc"}, "invalid_prefix"), ({"agency": "x"}, "unknown_agency"),
                      ({"name": ""}, "missing_field")]:
        r = api.post("/api/v1/admin/services", {**body, "code": "DKS-2", **bad})
        assert r.status_code == 422 and r.json["error"]["code"] == code
    r = api.client.patch("/api/v1/admin/services/DKS-SEHAT", json={"fee": "Gratis"},
                         headers=api.headers)
    assert r.status_code == 200 and r.json["fee"] == "Gratis" and r.json["prefix"] == "S"
    r = api.client.patch("/api/v1/admin/services/DKS-SEHAT", json={"code": "OTHER"},
                         headers=api.headers)
    assert r.status_code == 422 and r.json["error"]["code"] == "code_fixed"
    r = api.client.patch("/api/v1/admin/services/ADM-KTP", json={"prefix": "C"},
                         headers=api.headers)
    assert r.status_code == 409 and r.json["error"]["code"] == "prefix_taken"
    found = api.get("/api/v1/admin/services?q=keterangan%20sehat").json["services"]
    assert [s["code"] for s in found] == ["DKS-SEHAT"]


def test_offer_api(api, client, db):
    api.login("admin")
    r = api.client.put("/api/v1/admin/sites/tabang/services/ADM-KTP",
                       json={"offered": True, "daily_quota": 60, "booking_share": 0.4},
                       headers=api.headers)
    assert r.status_code == 200
    assert {k: r.json[k] for k in ("offered", "daily_quota", "booking_share")} == {
        "offered": True, "daily_quota": 60, "booking_share": 0.4}
    for bad in [{}, {"offered": "ya"}, {"offered": True, "booking_share": 2},
                {"offered": True, "daily_quota": "x"}]:
        r = api.client.put("/api/v1/admin/sites/tabang/services/ADM-KTP", json=bad,
                           headers=api.headers)
        assert r.status_code == 422, bad
    assert api.client.put("/api/v1/admin/sites/nope/services/ADM-KTP", json={"offered": True},
                          headers=api.headers).status_code == 404
    api.client.put("/api/v1/admin/sites/tabang/services/ADM-KTP", json={"offered": False},
                   headers=api.headers)
    codes = [s["code"] for s in client.get("/api/v1/sites/tabang/services").json["services"]]
    assert "ADM-KTP" not in codes


def test_hours_api_confirmation(api, db):
    book("14:00", day="2026-12-01", nik=NIKS[0])
    api.login("admin")
    windows = api.get("/api/v1/admin/sites/tabang/hours").json["windows"]
    assert {"weekday": 4, "start": "08:00", "end": "11:30"} in windows
    shorter = [w if w["weekday"] != 1 or w.get("service") else {**w, "end": "12:00"}
               for w in windows]
    put = api.client.put
    r = put("/api/v1/admin/sites/tabang/hours", json={"windows": shorter}, headers=api.headers)
    assert r.status_code == 409 and r.json["error"]["code"] == "appointments_affected"
    assert r.json["error"]["detail"]["affected_appointments"] == 1
    r = put("/api/v1/admin/sites/tabang/hours", json={"windows": shorter, "confirm": True},
            headers=api.headers)
    assert r.status_code == 200 and r.json["cancelled_appointments"] == 1
    r = put("/api/v1/admin/sites/tabang/hours",
            json={"windows": [{"weekday": 0, "start": "9:00", "end": "08:00"}]},
            headers=api.headers)
    assert r.status_code == 422 and r.json["error"]["code"] == "invalid_window"


def test_closures_api(api, db):
    appt = book("09:00", day="2026-12-01", nik=NIKS[0])
    api.login("supervisor.tabang")
    body = {"from": "2026-12-01", "to": "2026-12-01", "reason": "Pemadaman listrik"}
    r = api.post("/api/v1/admin/sites/tabang/closures", body)
    assert r.status_code == 409 and r.json["error"]["detail"]["affected_appointments"] == 1
    r = api.post("/api/v1/admin/sites/tabang/closures", {**body, "confirm": True})
    assert r.status_code == 201 and r.json["affected_appointments"] == 1
    batch = r.json["id"]
    assert Appointment.get_by_id(appt.id).status == "cancelled"
    listed = api.get("/api/v1/admin/sites/tabang/closures").json["closures"]
    assert [(c["id"], c["from"], c["reason"], c["site"]) for c in listed] == [
        (batch, "2026-12-01", "Pemadaman listrik", "tabang")]
    slots = api.get("/api/v1/sites/tabang/services/ADM-KTP/slots?date=2026-12-01").json
    assert slots["slots"] == [] and slots["closed_reason"] == "Tutup: Pemadaman listrik"
    assert api.login("supervisor.induk").client.delete(
        f"/api/v1/admin/sites/tabang/closures/{batch}", headers=api.headers).status_code == 403
    assert api.login("supervisor.tabang").client.delete(
        f"/api/v1/admin/sites/induk/closures/{batch}", headers=api.headers).status_code == 403
    r = api.client.delete(f"/api/v1/admin/sites/tabang/closures/{batch}", headers=api.headers)
    assert r.status_code == 200 and r.json["id"] == batch
    assert api.client.delete(f"/api/v1/admin/sites/tabang/closures/{batch}",
                             headers=api.headers).status_code == 404
    r = api.post("/api/v1/admin/sites/tabang/closures", {"from": "2026-12-01",
                                                         "reason": "X", "confirm": "ya"})
    assert r.status_code == 422
    api.login("admin")
    r = api.post("/api/v1/admin/sites/all/closures",
                 {"from": "2026-12-03", "reason": "Hari jadi Kukar"})
    assert r.status_code == 201
    assert Closure.get(Closure.batch == r.json["id"]).site is None


# --- the pages -------------------------------------------------------------------------------

def post_form(client, path, data, page=None):
    html = client.get(page or path).get_data(as_text=True)
    return client.post(path, data={**data, "csrf_token": csrf_from(html)})


def test_agency_pages(client, db):
    logged_in(client, "admin")
    r = post_form(client, "/admin/instansi", {"code": "dinkes", "name": "Dinas Kesehatan"})
    assert r.status_code == 303
    assert Agency.get(Agency.code == "dinkes").name == "Dinas Kesehatan"
    r = post_form(client, "/admin/instansi", {"code": "dinkes", "name": "Lagi"})
    assert r.status_code == 409 and "sudah dipakai" in r.get_data(as_text=True)
    r = post_form(client, "/admin/instansi/dinkes", {"name": "Dinkes Kukar"},
                  page="/admin/instansi")
    assert r.status_code == 303 and Agency.get(Agency.code == "dinkes").name == "Dinkes Kukar"
    assert "Dinkes Kukar" in client.get("/admin/instansi").get_data(as_text=True)


def test_service_pages(client, db):
    logged_in(client, "admin")
    html = client.get("/admin/layanan?q=ktp").get_data(as_text=True)
    assert "KTP Elektronik" in html and "Akta Kematian" not in html
    fragment = client.get("/admin/layanan?q=skck", headers={"HX-Request": "true"})
    assert "<html" not in fragment.get_data(as_text=True)
    data = {"code": "ADM-KIA", "name": "Kartu Identitas Anak", "agency": "disdukcapil",
            "prefix": "A", "requirements": "Akta kelahiran\r\nKK\r\n", "fee": "Gratis",
            "processing_days": "1", "target_wait_minutes": "", "standard_minutes": "8",
            "standard": "Standar KIA"}
    r = post_form(client, "/admin/layanan/baru", data)
    assert r.status_code == 303 and r.headers["Location"].endswith("/admin/layanan/ADM-KIA?saved=1")
    service = queueing.get_service("ADM-KIA")
    assert service.requirements == ["Akta kelahiran", "KK"] and service.standard_minutes == 8
    assert service.target_wait_minutes is None
    r = post_form(client, "/admin/layanan/baru", {**data, "code": "ADM-X", "prefix": "a1"})
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and 'data-error="prefix"' in html
    assert 'value="Kartu Identitas Anak"' in html  # what was typed is kept
    r = post_form(client, "/admin/layanan/ADM-KIA", {**data, "name": "KIA", "code": "ZZZ"})
    assert r.status_code == 303 and queueing.get_service("ADM-KIA").name == "KIA"
    assert client.get("/admin/layanan/NOPE").status_code == 404


def test_offer_page_saves_a_row_with_htmx(client, db):
    logged_in(client, "admin")
    html = client.get("/admin/lokasi/tabang/layanan").get_data(as_text=True)
    assert 'data-service="ADM-KTP"' in html and 'data-service="SMS-PKB"' in html
    r = client.post("/admin/lokasi/tabang/layanan/ADM-KTP",
                    data={"offered": "on", "daily_quota": "30", "booking_share": "40"},
                    headers={"HX-Request": "true", "X-CSRFToken": csrf_from(html)})
    row = r.get_data(as_text=True)
    assert r.status_code == 200 and "<html" not in row
    assert 'id="row-ADM-KTP"' in row and "tersimpan" in row and 'value="30"' in row
    link = SiteService.get(SiteService.site == Site.get(Site.code == "tabang").id,
                           SiteService.service == queueing.get_service("ADM-KTP").id)
    assert link.daily_quota == 30
    r = client.post("/admin/lokasi/tabang/layanan/ADM-KTP",
                    data={"offered": "on", "booking_share": "140"},
                    headers={"HX-Request": "true", "X-CSRFToken": csrf_from(html)})
    assert r.status_code == 422 and "0-100" in r.get_data(as_text=True)


def test_hours_page_confirmation_flow(client, db):
    appt = book("14:00", day="2026-12-01", nik=NIKS[0])
    logged_in(client, "supervisor.tabang")
    html = client.get("/admin/lokasi/tabang/jam").get_data(as_text=True)
    assert "Senin" in html and 'name="start"' not in html  # the supervisor reads
    logged_in(client, "admin")
    html = client.get("/admin/lokasi/tabang/jam").get_data(as_text=True)
    assert html.count('name="start"') == 6 + 4  # six windows and four blank rows
    rows = {"service": [""] * 5, "weekday": ["0", "1", "2", "3", "4"],
            "start": ["08:00"] * 5, "end": ["15:00", "12:00", "15:00", "15:00", "11:30"]}
    data = {**rows, "csrf_token": csrf_from(html)}
    r = client.post("/admin/lokasi/tabang/jam", data=data)
    page = r.get_data(as_text=True)
    assert r.status_code == 409 and 'data-affected="1"' in page and 'name="confirm"' in page
    assert 'value="12:00"' in page  # the typed rows stay
    r = client.post("/admin/lokasi/tabang/jam", data={**data, "confirm": "on"})
    assert r.status_code == 303 and r.headers["Location"].endswith("saved=1")
    assert Appointment.get_by_id(appt.id).status == "cancelled"
    assert "1 janji temu di luar jam baru dibatalkan" in client.get(
        r.headers["Location"]).get_data(as_text=True)


def test_closure_page_flow(client, db):
    book("09:00", day="2026-12-01", nik=NIKS[0])
    logged_in(client, "supervisor.tabang")
    data = {"from": "2026-12-01", "to": "2026-12-01", "reason": "Pemadaman listrik",
            "scope": "all"}
    r = post_form(client, "/admin/lokasi/tabang/tutup", data)
    assert r.status_code == 409 and 'data-affected="1"' in r.get_data(as_text=True)
    r = post_form(client, "/admin/lokasi/tabang/tutup", {**data, "confirm": "on"})
    assert r.status_code == 303
    html = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "Pemadaman listrik" in html and "1 janji temu dibatalkan" in html
    r = post_form(client, "/admin/lokasi/tabang/tutup",
                  {**data, "from": "2026-12-02", "scope": "some"})
    assert r.status_code == 422 and "Pilih paling sedikit satu layanan" in r.get_data(
        as_text=True)
    batch = Closure.get().batch
    r = post_form(client, f"/admin/lokasi/tabang/tutup/{batch}/hapus", {},
                  page="/admin/lokasi/tabang/tutup")
    assert r.status_code == 303 and Closure.select().count() == 0
    assert [e.action for e in AuditEntry.select().order_by(AuditEntry.id)
            if e.action.startswith("closure")] == ["closure.create", "closure.delete"]


def test_choosers_send_a_supervisor_to_their_hall(client, db):
    logged_in(client, "supervisor.tabang")
    for path in ("/admin/jam", "/admin/tutup"):
        r = client.get(path)
        assert r.status_code == 302 and "/admin/lokasi/tabang/" in r.headers["Location"]
    html = client.get("/admin").get_data(as_text=True)
    assert "Hari tutup" in html and "Jam layanan" in html and "Instansi" not in html
    logged_in(client, "admin")
    html = client.get("/admin/tutup").get_data(as_text=True)
    assert "/admin/lokasi/all/tutup" in html and "/admin/lokasi/tabang/tutup" in html


def test_booking_page_lists_a_closed_day_with_the_reason(client, db):
    logged_in(client, "supervisor.tabang")
    post_form(client, "/admin/lokasi/tabang/tutup",
              {"from": "2026-12-01", "reason": "Pemadaman listrik", "scope": "all"})
    html = client.get("/booking?site=tabang&service=ADM-KTP").get_data(as_text=True)
    assert 'data-closed="2026-12-01"' in html and "Tutup: Pemadaman listrik" in html


# --- the public standards ----------------------------------------------------------------------

def test_public_standards_page(client, db, api):
    api.login("admin").client.patch(
        "/api/v1/admin/services/ADM-KTP", headers=api.headers,
        json={"processing_days": 0, "standard": "Dasar hukum: UU 24/2013."})
    api.client.put("/api/v1/admin/sites/tabang/services/PTN-SK", headers=api.headers,
                   json={"offered": False})
    fresh = client.application.test_client()  # nobody signed in
    r = fresh.get("/layanan/tabang")
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    assert "Standar pelayanan Mini MPP Tabang" in html
    assert "KTP Elektronik" in html and "Berusia 17 tahun" in html
    assert "Selesai di hari yang sama" in html and "UU 24/2013" in html
    assert "Kantor Imigrasi Samarinda" in html and "Selasa 08:00-12:00" in html
    assert "Surat Keterangan Kecamatan" not in html and "Pajak Kendaraan" not in html
    assert fresh.get("/layanan/nope").status_code == 404
