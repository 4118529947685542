"""The "Laporan Bulanan Pelayanan" PDF: the hand-made morning at Tabang
(tests/test_visits.py `morning`) rendered and read back with pypdf; who may download
which month (`/api/v1/reports/monthly.pdf`, by token or signed-in session)."""
import datetime as dt
import io
import re

import pytest
from pypdf import PdfReader

from app.domain import reports
from app.models import User
from app.printing import monthly_report

from .conftest import at
from .pages import logged_in
from .test_visits import morning

NOW = at(30, 9, 5)


def user(name):
    return User.get(User.username == name)


def read(body: bytes) -> tuple[str, int]:
    reader = PdfReader(io.BytesIO(body))
    text = "\n".join(page.extract_text() for page in reader.pages)
    return " ".join(text.split()), len(reader.pages)


def render(username, site_code=None, incomplete=None):
    first, last = reports.month_period("2026-11", NOW)
    f = reports.scope(user(username), first, last, site_code=site_code)
    report = reports.summary(f, NOW)
    if incomplete is not None:
        report["incomplete_sites"] = incomplete
    labels = monthly_report.Labels(f.site.name if f.site else None, first, NOW,
                                   f.agency.name if f.agency else None)
    return read(monthly_report.render(report, labels))


def test_a_halls_month_on_the_hand_made_morning(db):
    morning()
    text, pages = render("supervisor.tabang")
    assert text.startswith("LAPORAN BULANAN PELAYANAN")
    assert "Mal Pelayanan Publik Kabupaten Kutai Kartanegara" in text
    assert "Mini MPP Tabang" in text and "Bulan November 2026" in text
    assert "Dibuat 30 November 2026 pukul 09.05 WITA" in text  # the clock, in WITA
    assert re.search(r"Datang \(tiket diambil\) 3 Dilayani 2 Tidak hadir 0 \(0,0%\) "
                     r"Dialihkan ke layanan lain 1 Dibatalkan 0", text)
    # Waits 20 and 36 minutes; services 18 and 0 minutes (tests/test_reports.py).
    assert "(menit) 28,0 / 20 / 36 / 36,0" in text and "(menit) 9,0 / 18" in text
    assert "Dipanggil dalam target waktu tunggu 50,0%" in text
    assert "Per loket" in text and "Per lokasi" not in text  # a hall: its counters
    assert "KTP Elektronik 3 2 0 28,0 9,0 50,0%" in text  # per service
    assert "Data belum lengkap" not in text
    assert f"Halaman 1 dari {pages}" in text and f"Halaman {pages} dari {pages}" in text


def test_the_kabupatens_month_has_a_row_per_hall_and_names_lagging_halls(db):
    morning()
    lagging = [{"site": "muara-wis", "name": "Mini MPP Muara Wis", "data_until": None},
               {"site": "tabang", "name": "Mini MPP Tabang",
                "data_until": "2026-11-20T10:00:00+08:00"}]
    text, _pages = render("admin", incomplete=lagging)
    assert "Seluruh lokasi (Kabupaten Kutai Kartanegara)" in text
    assert "Per lokasi" in text and "Per loket" not in text
    assert "Mini MPP Tabang 3 2 0,0% 28,0 36 50,0% Jumlah 3 2" in text
    assert "Data belum lengkap" in text
    assert "Mini MPP Muara Wis belum pernah terhubung" in text
    assert "Mini MPP Tabang 20 November 2026 pukul 10.00 WITA" in text


def test_an_officers_month_names_the_agency(db):
    morning()
    text, _pages = render("officer.disdukcapil")
    assert "Instansi: Dinas Kependudukan dan Pencatatan Sipil" in text
    assert "Datang (tiket diambil) 3" in text


def test_an_empty_month_still_reads(db):
    first, last = reports.month_period("2026-02", NOW)
    f = reports.scope(user("admin"), first, last)
    labels = monthly_report.Labels(None, first, NOW)
    text, pages = read(monthly_report.render(reports.summary(f, NOW), labels))
    assert "Bulan Februari 2026 (1-28 Februari 2026)" in text
    assert "Datang (tiket diambil) 0" in text and "Tidak ada kunjungan bulan ini" in text
    assert f"Halaman {pages} dari {pages}" in text


def test_a_name_beyond_latin_1_embeds_a_font(db):
    morning()
    from app.models import Site
    Site.update(name="Mini MPP Tabang ✓").where(Site.code == "tabang").execute()
    text, _pages = render("supervisor.tabang")
    assert "Mini MPP Tabang ✓" in text


def test_numbers_the_indonesian_way():
    assert monthly_report.whole(1234567) == "1.234.567"
    assert monthly_report.decimal(1234.56) == "1.234,6"
    assert monthly_report.percent(None) == "–"
    assert monthly_report.month_name(dt.date(2026, 8, 17)) == "Agustus 2026"


# --- over HTTP -------------------------------------------------------------------------

URL = "/api/v1/reports/monthly.pdf"


def pdf_text(response) -> str:
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "application/pdf"
    assert "no-store" in response.headers["Cache-Control"]
    return read(response.data)[0]


def test_an_admin_downloads_the_kabupatens_month_by_token(api, db):
    morning()
    api.login("admin")
    r = api.get(f"{URL}?month=2026-11")
    assert "laporan-bulanan-kabupaten-2026-11.pdf" in r.headers["Content-Disposition"]
    text = pdf_text(r)
    assert "Seluruh lokasi (Kabupaten Kutai Kartanegara)" in text
    assert "Datang (tiket diambil) 3 Dilayani 2" in text
    r = api.get(f"{URL}?month=2026-11&site=tabang")
    assert "laporan-bulanan-tabang-2026-11.pdf" in r.headers["Content-Disposition"]
    assert "Mini MPP Tabang" in pdf_text(r)


def test_a_supervisor_gets_their_own_hall_by_session(client, db):
    morning()
    logged_in(client, "supervisor.tabang")
    r = client.get(f"{URL}?month=2026-11")  # no site: their own hall, not the kabupaten
    assert "laporan-bulanan-tabang-2026-11.pdf" in r.headers["Content-Disposition"]
    text = pdf_text(r)
    assert "Mini MPP Tabang" in text and "Seluruh lokasi" not in text
    r = client.get(f"{URL}?month=2026-11&site=induk")
    assert r.status_code == 403 and r.json["error"]["code"] == "forbidden"


def test_the_month_defaults_to_this_month(api, db):
    api.login("supervisor.tabang")  # the test clock: 30 November 2026
    assert "Bulan November 2026" in pdf_text(api.get(URL))


@pytest.mark.parametrize("username, status", [
    (None, 401), ("operator.tabang", 403), ("supervisor.induk", 403)])
def test_who_may_download_tabangs_month(api, db, username, status):
    if username:
        api.login(username)
    r = api.get(f"{URL}?site=tabang&month=2026-11")
    assert r.status_code == status and r.mimetype == "application/json"
    assert r.json["error"]["code"] in ("unauthorized", "forbidden")


def test_bad_token_bad_month_and_unknown_hall(api, client, db):
    r = client.get(URL, headers={"Authorization": "Bearer nope"})
    assert r.status_code == 401 and r.json["error"]["code"] == "invalid_token"
    api.login("admin")
    for month in ("2026-13", "november", "2026", "2026-11-01"):
        r = api.get(f"{URL}?month={month}")
        assert r.status_code == 422 and r.json["error"]["code"] == "invalid_month", month
    r = api.get(f"{URL}?site=atlantis&month=2026-11")
    assert r.status_code == 404 and r.json["error"]["code"] == "unknown_site"


def test_openapi_lists_the_monthly_report(client):
    op = client.get("/api/v1/openapi.json").json["paths"][URL]["get"]
    # 414: gunicorn's answer to an overlong query, listed for every row with a query
    assert set(op["responses"]) - {"414"} == {"200", "401", "403", "404", "422"}
    assert op["security"] == [{"bearer": []}]
