"""Appointments over HTTP: every API row and its errors, the public pages, the kiosk
check-in, rate limiting. The app clock starts Monday 30 November 2026 09:00 WITA."""
import logging
import re

import pytest

from app import create_app
from app.clock import Clock
from app.db import database
from app.models import Appointment

from .pages import csrf_from

NIK = "6402121708850003"
NIK2 = "6402065508920001"


def booking_body(**over):
    body = {"site": "tabang", "service": "ADM-KTP", "date": "2026-11-30", "start": "10:30",
            "name": "Siti Aminah", "nik": NIK, "phone": "0812-3456-7890",
            "email": "siti@example.com"}
    body.update(over)
    return {k: v for k, v in body.items() if v is not None}


def create(client, **over):
    return client.post("/api/v1/appointments", json=booking_body(**over))


def error_code(response):
    return response.json["error"]["code"]


# --- slots ---------------------------------------------------------------------------

def test_slots_of_a_day(client):
    r = client.get("/api/v1/sites/tabang/services/ADM-KTP/slots?date=2026-11-30")
    assert r.status_code == 200
    assert r.json["date"] == "2026-11-30" and "closed_reason" not in r.json
    first, current = r.json["slots"][0], r.json["slots"][2]
    assert first == {"start": "08:00", "end": "08:30", "capacity": 4, "available": 0}  # past
    assert current == {"start": "09:00", "end": "09:30", "capacity": 4, "available": 4}


def test_slots_of_a_closed_day(client):
    r = client.get("/api/v1/sites/tabang/services/ADM-KTP/slots?date=2026-12-05")
    assert r.status_code == 200 and r.json["slots"] == []
    assert "Sabtu" in r.json["closed_reason"]


@pytest.mark.parametrize("query, status, code", [
    ("", 422, "invalid_date"), ("?date=tomorrow", 422, "invalid_date"),
    ("?date=2026-11-01", 422, "invalid_date"), ("?date=2027-06-01", 422, "invalid_date"),
])
def test_slots_bad_dates(client, query, status, code):
    r = client.get("/api/v1/sites/tabang/services/ADM-KTP/slots" + query)
    assert (r.status_code, error_code(r)) == (status, code)


@pytest.mark.parametrize("path, code", [
    ("/api/v1/sites/nowhere/services/ADM-KTP/slots?date=2026-11-30", "unknown_site"),
    ("/api/v1/sites/tabang/services/NOPE/slots?date=2026-11-30", "unknown_service"),
    ("/api/v1/sites/tabang/services/SMS-PKB/slots?date=2026-11-30", "unknown_service"),
])
def test_slots_unknown(client, path, code):
    r = client.get(path)
    assert (r.status_code, error_code(r)) == (404, code)


def test_booking_days(client):
    r = client.get("/api/v1/sites/induk/services/IMI-PASPOR/booking-days")
    assert r.status_code == 200
    dates = [d["date"] for d in r.json["days"]]
    assert dates[:4] == ["2026-11-30", "2026-12-02", "2026-12-07", "2026-12-09"]
    # 6 slots x 4 places left today, but only 15 of the quota of 30 can be booked.
    assert [d["available"] for d in r.json["days"][:2]] == [15, 15]


# --- create / view / cancel / reschedule ------------------------------------------------

def test_create_view_cancel(client):
    r = create(client)
    assert r.status_code == 201, r.json
    data = r.json
    assert re.fullmatch(r"[2-9A-HJ-NP-Z]{8}", data["code"])
    assert (data["date"], data["start"], data["end"], data["status"]) == (
        "2026-11-30", "10:30", "11:00", "booked")
    assert data["starts_at"] == "2026-11-30T10:30:00+08:00"
    assert data["nik"] == "6402********0003" and NIK not in r.get_data(as_text=True)
    assert data["phone"] == "0812****7890" and data["warnings"] == []
    assert data["manage_url"].endswith("/booking/janji/" + data["code"])
    assert (data["checkin_from"], data["checkin_until"]) == ("09:30", "11:00")

    r = client.get(f"/api/v1/appointments/{data['code']}", headers={"X-NIK": NIK})
    assert r.status_code == 200 and r.json["code"] == data["code"]
    r = client.get(f"/api/v1/appointments/{data['code'].lower()}?nik={NIK}")  # ?nik= form
    assert r.status_code == 200
    r = client.get(f"/api/v1/appointments/{data['code']}", headers={"X-NIK": NIK2})
    assert (r.status_code, error_code(r)) == (404, "unknown_appointment")
    r = client.get(f"/api/v1/appointments/{data['code']}")
    assert (r.status_code, error_code(r)) == (422, "missing_field")

    r = client.post(f"/api/v1/appointments/{data['code']}/cancel", json={"nik": NIK2})
    assert (r.status_code, error_code(r)) == (404, "unknown_appointment")
    r = client.post(f"/api/v1/appointments/{data['code']}/cancel", json={"nik": NIK})
    assert r.status_code == 200 and r.json["status"] == "cancelled"
    r = client.post(f"/api/v1/appointments/{data['code']}/cancel", json={"nik": NIK})
    assert (r.status_code, error_code(r)) == (409, "appointment_cancelled")
    r = client.post("/api/v1/appointments/ZZZZ2222/cancel", json={})
    assert (r.status_code, error_code(r)) == (422, "missing_field")


def test_reschedule(client):
    code = create(client).json["code"]
    r = client.post(f"/api/v1/appointments/{code}/reschedule",
                    json={"nik": NIK, "date": "2026-12-01", "start": "08:00"})
    assert r.status_code == 200 and (r.json["date"], r.json["start"]) == ("2026-12-01",
                                                                          "08:00")
    r = client.post(f"/api/v1/appointments/{code}/reschedule",
                    json={"nik": NIK, "date": "2026-12-05", "start": "08:00"})
    assert (r.status_code, error_code(r)) == (409, "day_closed")
    r = client.post(f"/api/v1/appointments/{code}/reschedule",
                    json={"nik": NIK, "date": "2026-12-01", "start": "08:10"})
    assert (r.status_code, error_code(r)) == (422, "invalid_slot")


def test_slot_full_and_duplicate(client):
    niks = ["6402121708850011", "6402121708850012", "6402121708850013", "6402121708850014"]
    for nik in niks:
        assert create(client, nik=nik, email=None).status_code == 201
    r = create(client, nik="6402121708850015")
    assert (r.status_code, error_code(r)) == (409, "slot_full")
    r = create(client, nik=niks[0], start="11:00")
    assert (r.status_code, error_code(r)) == (409, "duplicate_booking")
    slots = client.get("/api/v1/sites/tabang/services/ADM-KTP/slots?date=2026-11-30").json
    assert next(s for s in slots["slots"] if s["start"] == "10:30")["available"] == 0


@pytest.mark.parametrize("over, status, code", [
    ({"nik": "1234567890123456"}, 422, "invalid_nik"),
    ({"nik": "6402123208850003"}, 422, "invalid_nik"),
    ({"phone": "12345"}, 422, "invalid_phone"),
    ({"email": "siti@"}, 422, "invalid_email"),
    ({"date": "2026-13-01"}, 422, "invalid_date"),
    ({"date": "2026-11-29"}, 422, "invalid_date"),
    ({"start": "10:10"}, 422, "invalid_slot"),
    ({"start": "08:00"}, 409, "slot_passed"),
    ({"date": "2026-12-05"}, 409, "day_closed"),
    ({"name": "S"}, 422, "invalid_name"),
    ({"name": None}, 422, "missing_field"),
    ({"nik": 6402121708850003}, 422, "invalid_field"),
    ({"service": "NOPE"}, 404, "unknown_service"),
    ({"site": "nowhere"}, 404, "unknown_site"),
])
def test_create_errors(client, over, status, code):
    r = create(client, **over)
    assert (r.status_code, error_code(r)) == (status, code), r.json
    assert r.json["error"]["message"]
    assert Appointment.select().count() == 0


def test_malformed_bodies_are_4xx(client):
    cases = [
        client.post("/api/v1/appointments", data="{", content_type="application/json"),
        client.post("/api/v1/appointments", data="[1]", content_type="application/json"),
        client.post("/api/v1/appointments", data="nik=1", content_type="text/plain"),
        client.post("/api/v1/appointments", data="x" * 2_000_000,
                    content_type="application/json"),
        client.post("/api/v1/sites/tabang/check-in", json={"code": ["A"]}),
        client.get("/api/v1/appointments/" + "A" * 500, headers={"X-NIK": NIK}),
    ]
    assert [r.status_code for r in cases] == [400, 400, 415, 413, 422, 404]
    assert all("error" in r.json for r in cases)


# --- check-in ----------------------------------------------------------------------

def test_check_in(client):
    code = create(client, start="09:30").json["code"]
    r = client.post("/api/v1/sites/anggana/check-in", json={"code": code})
    assert (r.status_code, error_code(r)) == (409, "wrong_site")
    r = client.post("/api/v1/sites/tabang/check-in",
                    json={"code": f"http://localhost/booking/janji/{code}"})  # scanned QR
    assert r.status_code == 201, r.json
    assert (r.json["source"], r.json["number"]) == ("appointment", "A001")
    assert r.json["due_at"] == "2026-11-30T09:30:00+08:00"
    assert r.json["appointment"] == {"code": code, "start": "09:30"}
    r = client.post("/api/v1/sites/tabang/check-in", json={"code": code})
    assert (r.status_code, error_code(r)) == (409, "already_checked_in")
    view = client.get(f"/api/v1/appointments/{code}", headers={"X-NIK": NIK}).json
    assert view["status"] == "checked_in" and view["ticket"]["number"] == "A001"


def test_check_in_too_early_and_expired(app, client):
    early = create(client, start="13:00").json["code"]
    late = create(client, start="09:30", nik=NIK2).json["code"]
    r = client.post("/api/v1/sites/tabang/check-in", json={"code": early})
    assert (r.status_code, error_code(r)) == (409, "too_early")
    assert "12:00 WITA" in r.json["error"]["message"]
    assert r.json["error"]["detail"]["come_back_at"] == "2026-11-30T12:00+08:00"
    app.clock = Clock("2026-11-30T10:05:00+08:00")
    r = client.post("/api/v1/sites/tabang/check-in", json={"code": late})
    assert (r.status_code, error_code(r)) == (409, "expired")
    assert r.json["error"]["detail"] == {"walk_in": True, "service": "ADM-KTP"}


@pytest.mark.parametrize("body, status, code", [
    ({"code": "ZZZZ2222"}, 404, "unknown_appointment"),
    ({"code": "bad"}, 422, "invalid_code"),
    ({}, 422, "missing_field"),
])
def test_check_in_errors(client, body, status, code):
    r = client.post("/api/v1/sites/tabang/check-in", json=body)
    assert (r.status_code, error_code(r)) == (status, code)


def test_openapi_lists_the_rows(client):
    paths = client.get("/api/v1/openapi.json").json["paths"]
    assert "get" in paths["/api/v1/sites/{site}/services/{service}/slots"]
    assert "post" in paths["/api/v1/appointments"]
    assert "get" in paths["/api/v1/appointments/{code}"]
    assert "post" in paths["/api/v1/appointments/{code}/cancel"]
    assert "post" in paths["/api/v1/appointments/{code}/reschedule"]
    assert "409" in paths["/api/v1/sites/{site}/check-in"]["post"]["responses"]


# --- rate limits ---------------------------------------------------------------------

@pytest.fixture
def limited(template_dir, tmp_path):
    import shutil
    shutil.copy(template_dir / "mpp.sqlite3", tmp_path / "mpp.sqlite3")
    app = create_app({"DATA_DIR": str(tmp_path), "SECRET_KEY": "test", "TESTING": True,
                      "MPP_CLOCK_START": "2026-11-30T09:00:00+08:00",
                      "RATE_LIMIT_BOOKING": "2/minute", "RATE_LIMIT_CHECKIN": "1/hour",
                      "RATE_LIMIT_TICKETS": "3/minute", "RATE_LIMIT_LOOKUP": "2/minute",
                      "WTF_CSRF_ENABLED": False})
    database.connect(reuse_if_open=True)
    yield app
    database.close()


def test_booking_is_rate_limited_per_client(limited):
    client = limited.test_client()
    statuses = [create(client, nik=f"64021217088500{n:02d}", email=None).status_code
                for n in range(1, 5)]
    assert statuses == [201, 201, 429, 429]
    r = create(client, nik="6402121708850009")
    assert error_code(r) == "too_many_requests" and 1 <= int(r.headers["Retry-After"]) <= 60
    other = limited.test_client()
    r = other.post("/api/v1/appointments", json=booking_body(nik="6402121708850010"),
                   environ_base={"REMOTE_ADDR": "10.0.0.9"})
    assert r.status_code == 201  # another client has its own budget
    r = client.post("/booking", data=booking_body(nik="6402121708850011"))
    assert r.status_code == 429 and b"Terlalu banyak permintaan" in r.data


def test_check_in_and_tickets_are_rate_limited(limited):
    client = limited.test_client()
    assert client.post("/api/v1/sites/tabang/check-in", json={"code": "bad"}).status_code \
        == 422
    r = client.post("/api/v1/sites/tabang/check-in", json={"code": "bad"})
    assert (r.status_code, error_code(r)) == (429, "too_many_requests")
    codes = [client.post("/api/v1/sites/tabang/tickets", json={"service": "ADM-KTP"})
             .status_code for _ in range(4)]
    assert codes == [201, 201, 201, 429]
    r = client.post("/k/tabang/tickets", data={"service": "ADM-KTP"},
                    headers={"HX-Request": "true"})
    assert r.status_code == 429


def test_rate_limits_off(template_dir, tmp_path):
    import shutil
    shutil.copy(template_dir / "mpp.sqlite3", tmp_path / "mpp.sqlite3")
    app = create_app({"DATA_DIR": str(tmp_path), "SECRET_KEY": "test", "TESTING": True,
                      "MPP_CLOCK_START": "2026-11-30T09:00:00+08:00",
                      "RATE_LIMITS": "off", "RATE_LIMIT_CHECKIN": "1/hour"})
    database.connect(reuse_if_open=True)
    try:
        client = app.test_client()
        codes = {client.post("/api/v1/sites/tabang/check-in", json={"code": "bad"})
                 .status_code for _ in range(5)}
        assert codes == {422}
    finally:
        database.close()


def test_rate_limit_specs():
    from app.web.ratelimit import parse
    assert parse("20/minute") == (20, 60)
    assert parse("5 / 10 minutes") == (5, 600)
    assert parse("100/day") == (100, 86400)
    assert parse("off") is None and parse("") is None
    with pytest.raises(ValueError):
        parse("lots")


# --- public pages ------------------------------------------------------------------------

def test_booking_steps(client):
    html = client.get("/booking").get_data(as_text=True)
    assert "Mini MPP Tabang" in html and "MPP Induk Kutai Kartanegara" in html
    html = client.get("/booking?site=tabang").get_data(as_text=True)
    assert "KTP Elektronik" in html and "Berusia 17 tahun" in html  # requirements up front
    assert "Pajak Kendaraan" not in html  # not offered at a Mini MPP
    html = client.get("/booking?site=tabang&service=ADM-KTP").get_data(as_text=True)
    assert "Senin, 30 November" in html and 'data-date="2026-12-01"' in html
    assert "Sabtu, 5 Desember" not in html and "Minggu, 6 Desember" not in html
    html = client.get("/booking?site=tabang&service=ADM-KTP&date=2026-11-30").get_data(
        as_text=True)
    assert 'value="09:00"' in html and 'value="08:30"' not in html  # past slot not offered
    assert 'name="nik"' in html and 'name="email"' in html
    r = client.get("/booking?site=tabang&service=ADM-KTP&date=2026-11-01")
    assert r.status_code == 200 and "Tanggal sudah lewat" in r.get_data(as_text=True)
    assert client.get("/booking?site=nowhere").status_code == 404


def test_book_on_the_page_then_manage(client, caplog):
    caplog.set_level(logging.DEBUG)
    page = client.get("/booking?site=tabang&service=ADM-KTP&date=2026-11-30")
    form = booking_body(start="11:00", csrf_token=csrf_from(page.get_data(as_text=True)))
    bad = client.post("/booking", data={**form, "nik": "12"})
    assert bad.status_code == 422 and "NIK harus 16 angka" in bad.get_data(as_text=True)
    assert 'value="Siti Aminah"' in bad.get_data(as_text=True)  # the form keeps its values
    r = client.post("/booking", data=form)
    assert r.status_code == 303
    location = r.headers["Location"]
    assert NIK not in location and "/booking/janji/" in location
    html = client.get(location).get_data(as_text=True)
    code = Appointment.get().code
    assert "berhasil dibuat" in html and f"{code[:4]}-{code[4:]}" in html
    assert 'src="data:image/svg+xml' in html and "6402********0003" in html
    assert NIK not in html and "Berusia 17 tahun" in html
    assert NIK not in caplog.text

    # Another browser needs code + NIK.
    other = client.application.test_client()
    html = other.get(location).get_data(as_text=True)
    assert "Cek janji temu" in html and "6402" not in html
    token = csrf_from(html)
    r = other.post("/booking/cek", data={"code": code, "nik": NIK2, "csrf_token": token})
    assert r.status_code == 404 and "tidak ditemukan" in r.get_data(as_text=True).lower()
    r = other.post("/booking/cek", data={"code": code, "nik": NIK, "csrf_token": token})
    assert r.status_code == 303
    html = other.get(r.headers["Location"]).get_data(as_text=True)
    assert "Terjadwal" in html

    # Reschedule, then cancel, on the page.
    html = other.get(f"/booking/janji/{code}/ubah?date=2026-12-01").get_data(as_text=True)
    assert 'value="08:00"' in html
    r = other.post(f"/booking/janji/{code}/ubah", data={
        "nik": NIK, "date": "2026-12-01", "start": "08:00", "csrf_token": token})
    assert r.status_code == 200 and "Jadwal sudah diubah" in r.get_data(as_text=True)
    r = other.post(f"/booking/janji/{code}/batal", data={"nik": NIK2, "csrf_token": token})
    assert r.status_code == 404
    r = other.post(f"/booking/janji/{code}/batal", data={"nik": NIK, "csrf_token": token})
    assert r.status_code == 200 and "sudah dibatalkan" in r.get_data(as_text=True)
    assert Appointment.get().status == "cancelled"


def test_page_posts_need_csrf(client):
    r = client.post("/booking", data=booking_body())
    assert r.status_code == 400 and Appointment.select().count() == 0


def test_reschedule_page_needs_a_grant(client):
    code = create(client).json["code"]
    fresh = client.application.test_client()
    r = fresh.get(f"/booking/janji/{code}/ubah")
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/booking/janji/{code}")


# --- kiosk -------------------------------------------------------------------------------

def test_kiosk_start_offers_check_in(client):
    html = client.get("/k/tabang").get_data(as_text=True)
    assert "Sudah punya janji temu?" in html and "/k/tabang/check-in" in html
    html = client.get("/k/tabang/check-in").get_data(as_text=True)
    assert 'name="code"' in html and 'data-key="A"' in html and "<html" in html
    partial = client.get("/k/tabang/check-in", headers={"HX-Request": "true"})
    assert "<html" not in partial.get_data(as_text=True)


def test_kiosk_check_in_prints_an_appointment_ticket(client):
    code = create(client, start="09:30").json["code"]
    page = client.get("/k/tabang/check-in").get_data(as_text=True)
    headers = {"HX-Request": "true", "X-CSRFToken": csrf_from(page)}
    r = client.post("/k/tabang/check-in", data={"code": code.lower()}, headers=headers)
    html = r.get_data(as_text=True)
    assert r.status_code == 201
    assert "Janji temu pukul 09:30" in html and 'data-number>A001<' in html
    r = client.post("/k/tabang/check-in", data={"code": code}, headers=headers)
    assert r.status_code == 409 and "sudah check-in" in r.get_data(as_text=True)
    r = client.post("/k/anggana/check-in", data={"code": code}, headers=headers)
    assert r.status_code == 409 and "Mini MPP Tabang" in r.get_data(as_text=True)


def test_kiosk_expired_offers_walk_in(app, client):
    code = create(client, start="09:30").json["code"]
    app.clock = Clock("2026-11-30T10:30:00+08:00")
    page = client.get("/k/tabang/check-in").get_data(as_text=True)
    headers = {"HX-Request": "true", "X-CSRFToken": csrf_from(page)}
    r = client.post("/k/tabang/check-in", data={"code": code}, headers=headers)
    html = r.get_data(as_text=True)
    assert r.status_code == 409 and "Ambil nomor antrean biasa" in html
    assert 'name="service" value="ADM-KTP"' in html


def test_console_marks_the_appointment(app, client):
    code = create(client, start="09:30").json["code"]
    client.post("/api/v1/sites/tabang/check-in", json={"code": code})
    client.post("/api/v1/sites/tabang/tickets", json={"service": "ADM-KTP"})  # a walk-in
    page = client.get("/loket/masuk").get_data(as_text=True)
    r = client.post("/loket/masuk", data={"username": "operator.tabang", "password": "demo",
                                          "csrf_token": csrf_from(page)})
    assert r.status_code == 302
    html = client.get("/loket/tabang/L1/antrean").get_data(as_text=True)
    assert html.count("Janji temu") == 1 and 'data-number="A001"' in html
    page = client.get("/loket/tabang/L1").get_data(as_text=True)
    app.clock = Clock("2026-11-30T09:31:00+08:00")  # due now: ahead of the walk-in
    client.post("/loket/tabang/L1/call-next", headers={"X-CSRFToken": csrf_from(page)})
    html = client.get("/loket/tabang/L1").get_data(as_text=True)
    assert 'data-current="A001"' in html and "Janji temu" in html


def test_a_refused_booking_with_a_past_date_falls_back_to_the_dates(client):
    page = client.get("/booking").get_data(as_text=True)
    r = client.post("/booking", data=booking_body(date="2026-11-01",
                                                  csrf_token=csrf_from(page)))
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and "Tanggal sudah lewat" in html and "Pilih tanggal" in html
