"""Reports over HTTP on the hand-made morning at Tabang (tests/test_visits.py `morning`):
the summary JSON says what the domain says, each caller sees their scope, the CSV and
XLSX carry the same figures, the page shows them with offline charts."""
import base64
import csv
import io
import re

import openpyxl
import pytest

from app.clock import local_day
from app.domain import reports
from app.models import User

from .conftest import at
from .pages import logged_in
from .test_visits import morning

DAY = "2026-11-30"
TODAY = {"period": "day", "from": DAY}


@pytest.fixture
def tabang_morning(db):
    return morning()


def _query(**extra):
    return {**TODAY, **extra}


def test_the_summary_is_the_domains(api, tabang_morning):
    r = api.login("supervisor.tabang").get("/api/v1/reports/summary", query_string=TODAY)
    assert r.status_code == 200, r.json
    body = r.json
    user = User.get(User.username == "supervisor.tabang")
    expected = reports.summary(reports.scope(user, local_day(at(30, 9)), local_day(at(30, 9))),
                               at(30, 9, 5), refresh=False)
    for key in ("arrived", "served", "no_show", "no_show_rate", "transferred",
                "wait_minutes", "service_minutes", "within_target_pct", "by_service",
                "by_counter", "by_operator", "by_day", "by_hour", "cases", "bookings",
                "incomplete_sites"):
        assert body[key] == expected[key], key
    assert (body["arrived"], body["served"]) == (3, 2)
    assert body["period"] == {"from": DAY, "to": DAY, "site": "tabang", "agency": None,
                              "service": None}
    assert re.fullmatch(r"2026-11-30T\d\d:\d\d:\d\d\+08:00", body["generated_at"])


def test_periods_in_the_query(api, tabang_morning):
    api.login("admin")
    week = api.get("/api/v1/reports/summary", query_string={"period": "week",
                                                              "from": "2026-12-02"}).json
    assert week["period"]["from"] == "2026-11-30" and week["period"]["to"] == "2026-12-06"
    assert week["arrived"] == 3
    month = api.get("/api/v1/reports/summary?period=month&from=2026-11-15").json
    assert (month["period"]["from"], month["period"]["to"]) == ("2026-11-01", "2026-11-30")
    ranged = api.get("/api/v1/reports/summary?from=2026-11-01&to=2026-11-29").json
    assert ranged["arrived"] == 0


def test_each_caller_sees_their_scope(api, client, tabang_morning):
    r = api.login("supervisor.tabang").get("/api/v1/reports/summary",
                                           query_string=_query(site="induk"))
    assert r.status_code == 403 and r.json["error"]["code"] == "forbidden"
    officer = api.login("officer.disdukcapil").get("/api/v1/reports/summary",
                                                   query_string=TODAY).json
    assert officer["period"]["agency"] == "disdukcapil" and officer["arrived"] == 3
    assert {row["key"] for row in officer["by_agency"]} == {"disdukcapil"}
    r = api.get("/api/v1/reports/summary", query_string=_query(agency="informasi"))
    assert r.status_code == 403
    other = api.login("officer.informasi").get("/api/v1/reports/summary",
                                               query_string=TODAY).json
    assert other["arrived"] == 0
    r = api.login("operator.tabang").get("/api/v1/reports/summary", query_string=TODAY)
    assert r.status_code == 403 and r.json["error"]["code"] == "forbidden"
    anonymous = client.get("/api/v1/reports/summary")
    assert anonymous.status_code == 401 and anonymous.json["error"]["code"] == "unauthorized"
    r = api.login("admin").get("/api/v1/reports/summary", query_string=_query(site="atlantis"))
    assert r.status_code == 404 and r.json["error"]["code"] == "unknown_site"


@pytest.mark.parametrize("query, code", [
    ({"from": "2026-13-01"}, "invalid_date"),
    ({"from": "kemarin"}, "invalid_date"),
    ({"from": "2026-11-30", "to": "2026-11-01"}, "invalid_date"),
    ({"period": "year"}, "invalid_field"),
    ({"from": "2025-01-01", "to": "2026-11-30"}, "range_too_long"),
])
def test_a_bad_period_is_refused_with_the_error_body(api, query, code):
    for path in ("/api/v1/reports/summary", "/api/v1/reports/export.csv",
                 "/api/v1/reports/export.xlsx"):
        r = api.login("admin").get(path, query_string=query)
        # The domain's Invalid: 422, like every other bad query day of the API.
        assert r.status_code == 422, (path, r.status_code)
        assert r.json["error"]["code"] == code and r.json["error"]["message"]


def test_one_halls_day(api, client, tabang_morning):
    r = api.login("supervisor.tabang").get("/api/v1/sites/tabang/stats?date=2026-11-30")
    assert r.status_code == 200
    stats = r.json
    assert (stats["issued"], stats["served"], stats["no_show"], stats["waiting"]) == (3, 2, 0, 1)
    assert stats["wait_minutes"] == {"mean": 28.0, "p90": 36}
    assert stats["service_minutes"] == {"mean": 9.0, "p90": 18}
    assert [row["service"] for row in stats["by_service"]] == ["ADM-KTP"]
    assert api.get("/api/v1/sites/tabang/stats").json["date"] == DAY  # default: today
    assert api.get("/api/v1/sites/tabang/stats?date=2026-11-29").json["waiting"] == 0
    bad = api.get("/api/v1/sites/tabang/stats?date=30-11-2026")
    assert bad.status_code == 422 and bad.json["error"]["code"] == "invalid_date"
    assert api.get("/api/v1/sites/induk/stats").status_code == 403
    assert api.get("/api/v1/sites/atlantis/stats").status_code == 404
    for who in ("operator.tabang", "officer.disdukcapil"):
        assert api.login(who).get("/api/v1/sites/tabang/stats").status_code == 403
    assert api.login("admin").get("/api/v1/sites/tabang/stats").status_code == 200
    assert client.get("/api/v1/sites/tabang/stats").status_code == 401


def _sections(text: str) -> dict[str, list[list[str]]]:
    """The CSV's sections: a title row, a header row, rows, a blank line."""
    sections, current = {}, None
    for row in csv.reader(io.StringIO(text)):
        if not row:
            current = None
        elif current is None:
            current = sections.setdefault(row[0], [])
        else:
            current.append(row)
    return sections


def test_the_csv(api, tabang_morning):
    r = api.login("supervisor.tabang").get("/api/v1/reports/export.csv", query_string=TODAY)
    assert r.status_code == 200 and r.mimetype == "text/csv"
    assert r.headers["Content-Disposition"] == (
        'attachment; filename="laporan-tabang-2026-11-30_2026-11-30.csv"')
    assert r.data.startswith(b"\xef\xbb\xbf")  # Excel reads UTF-8 with the mark
    sections = _sections(r.data.decode("utf-8-sig"))
    assert list(sections) == ["Ringkasan", "Per lokasi", "Per instansi", "Per layanan",
                              "Per loket", "Per petugas", "Per hari", "Jam kedatangan (WITA)",
                              "Booking", "Berkas", "Lama sampai siap diambil"]
    totals = dict(sections["Ringkasan"][1:])
    assert sections["Ringkasan"][0] == ["Ukuran", "Nilai"]
    assert (totals["Datang"], totals["Dilayani"], totals["Tidak hadir"]) == ("3", "2", "0")
    assert totals["Tunggu rata-rata (menit)"] == "28.0" and totals["Dalam target (%)"] == "50.0"
    assert totals["Lokasi"] == "Mini MPP Tabang"
    header, *rows = sections["Per layanan"]
    assert header[:4] == ["Kode layanan", "Layanan", "Datang", "Dilayani"]
    assert [(row[0], row[2], row[3]) for row in rows] == [("ADM-KTP", "3", "2"),
                                                          ("INFO", "0", "0")]
    header, *rows = sections["Jam kedatangan (WITA)"]
    assert header[0] == "Hari" and "08:00" in header
    assert rows[0][0] == "Senin" and rows[0][header.index("08:00")] == "3"
    assert sections["Per petugas"][1][0] == "operator.tabang"


def test_the_xlsx(api, tabang_morning):
    r = api.login("supervisor.tabang").get("/api/v1/reports/export.xlsx", query_string=TODAY)
    assert r.status_code == 200
    assert r.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert "laporan-tabang-2026-11-30_2026-11-30.xlsx" in r.headers["Content-Disposition"]
    book = openpyxl.load_workbook(io.BytesIO(r.data))
    assert book.sheetnames == ["Ringkasan", "Per lokasi", "Per instansi", "Per layanan",
                               "Per loket", "Per petugas", "Per hari", "Jam kedatangan",
                               "Booking", "Berkas"]
    summary = book["Ringkasan"]
    assert summary["A1"].value == "Ringkasan" and summary["A2"].value == "Ukuran"
    assert summary["A2"].font.bold and summary.freeze_panes == "A3"
    values = {row[0]: row[1] for row in summary.iter_rows(min_row=3, values_only=True)}
    assert values["Dilayani"] == 2 and values["Datang"] == 3
    assert values["Dalam target (%)"] == pytest.approx(0.5)  # a real Excel percentage
    services = book["Per layanan"]
    assert [c.value for c in services[2]][:4] == ["Kode layanan", "Layanan", "Datang",
                                                   "Dilayani"]
    ktp = next(row for row in services.iter_rows(min_row=3) if row[0].value == "ADM-KTP")
    assert ktp[3].value == 2 and ktp[9].value == 28.0 and ktp[9].number_format == "#,##0.0"
    assert services.column_dimensions["B"].width > 8
    day = book["Per hari"]["A3"]
    assert day.is_date and day.value.date().isoformat() == DAY
    cases = [row[0] for row in book["Berkas"].iter_rows(values_only=True)]
    assert "Lama sampai siap diambil" in cases


def test_a_download_from_the_signed_in_page(client, tabang_morning):
    logged_in(client, "supervisor.tabang")
    r = client.get("/api/v1/reports/export.xlsx", query_string=TODAY)
    assert r.status_code == 200 and r.headers["Cache-Control"] == "private, no-store"


# --- the page --------------------------------------------------------------------------

def _charts(html: str) -> list[str]:
    return [base64.b64decode(data).decode("utf-8") for data in
            re.findall(r'src="data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)"', html)]


OUTSIDE = re.compile(r"""(?:https?:)?//(?!www\.w3\.org/)[\w.-]+""")


def test_the_page_shows_the_figures_and_offline_charts(client, tabang_morning):
    logged_in(client, "supervisor.tabang")
    r = client.get("/laporan", query_string=TODAY)
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert '<html lang="id">' in html and "Laporan pelayanan" in html
    assert re.search(r'data-kpi="arrived">3<', html) and re.search(r'data-kpi="served">2<', html)
    assert re.search(r'data-kpi="wait_mean">28,0 <small>menit', html)
    assert re.search(r'data-kpi="within_target">50,0%<', html)
    assert "30 November 2026" in html and "Mini MPP Tabang" in html
    charts = _charts(html)
    assert len(charts) == 2 and all(svg.startswith("<svg") for svg in charts)
    assert "KTP Elektronik" in charts[1]
    for svg in charts:
        assert "<script" not in svg and "<!--" not in svg
        assert OUTSIDE.findall(svg) == [], OUTSIDE.findall(svg)
    assert OUTSIDE.findall(re.sub(r'src="data:[^"]+"', "", html).replace(
        "http://localhost", "")) == []
    # The heat map: Monday 08:00, the busiest (and only) hour.
    assert '<td class="heat-5">3</td>' in html
    # Each chart's figures as a table, for screen readers and paper.
    assert html.count("<caption>") >= 5
    assert 'href="/api/v1/reports/export.xlsx?from=2026-11-30&amp;to=2026-11-30&amp;site=tabang"' \
        in html
    assert "/api/v1/reports/monthly.pdf?site=tabang&amp;month=2026-11" in html
    assert 'name="site"' not in html  # a supervisor's hall is not a choice


def test_htmx_gets_the_report_alone(client, tabang_morning):
    logged_in(client, "supervisor.tabang")
    fragment = client.get("/laporan", query_string=TODAY,
                          headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "<html" not in fragment and "<form" not in fragment
    assert 'data-kpi="served">2<' in fragment and len(_charts(fragment)) == 2
    # htmx restoring history after a cache miss asks with HX-Request too: the whole page.
    restored = client.get("/laporan", query_string=TODAY, headers={
        "HX-Request": "true", "HX-History-Restore-Request": "true"}).get_data(as_text=True)
    assert "<html" in restored and "<form" in restored


def test_who_opens_the_page(client, tabang_morning):
    r = client.get("/laporan")
    assert r.status_code == 302 and "/loket/masuk" in r.headers["Location"]
    logged_in(client, "operator.tabang")
    r = client.get("/laporan")
    assert r.status_code == 403 and "<html" in r.get_data(as_text=True)


def test_the_page_for_an_admin_and_an_officer(client, tabang_morning):
    logged_in(client, "admin")
    html = client.get("/laporan", query_string=TODAY).get_data(as_text=True)
    assert 'name="site"' in html and 'name="agency"' in html
    assert "Per lokasi" in html  # no hall chosen: the monthly PDF is the kabupaten's
    assert "monthly.pdf?month=" in html
    html = client.get("/laporan", query_string=_query(site="tabang")).get_data(as_text=True)
    assert "monthly.pdf?site=tabang" in html
    officer = client.application.test_client()
    logged_in(officer, "officer.disdukcapil")
    html = officer.get("/laporan", query_string=TODAY).get_data(as_text=True)
    assert 'name="site"' in html and 'name="agency"' not in html
    assert 'data-kpi="arrived">3<' in html


def test_a_bad_date_on_the_page(client, tabang_morning):
    logged_in(client, "supervisor.tabang")
    r = client.get("/laporan?from=2026-02-30")
    assert r.status_code == 422 and "YYYY-MM-DD" in r.get_data(as_text=True)


def test_default_is_this_month(client, tabang_morning):
    logged_in(client, "supervisor.tabang")
    html = client.get("/laporan").get_data(as_text=True)
    assert "1-30 November 2026" in html and 'data-kpi="arrived">3<' in html
    assert '<option value="month" selected>' in html


def test_openapi_lists_the_report_operations(client):
    paths = client.get("/api/v1/openapi.json").json["paths"]
    for path in ("/api/v1/reports/summary", "/api/v1/reports/export.csv",
                 "/api/v1/reports/export.xlsx"):
        # 414: gunicorn's answer to an overlong query, listed for every row with a query
        assert set(paths[path]["get"]["responses"]) - {"414"} == {
            "200", "401", "403", "404", "422"}
        assert "period" in paths[path]["get"]["summary"]
    stats = paths["/api/v1/sites/{site}/stats"]["get"]
    assert set(stats["responses"]) - {"414"} == {"200", "401", "403", "404", "422"}
    assert "date" in stats["summary"]


def test_the_page_names_halls_whose_data_lags(client, tabang_morning):
    """At the centre: a hall whose facts stop at 08:00, and one never heard from."""
    from app.domain import link_rows, visits
    from app.models import Site
    link_rows.configure("central")
    try:
        hall = Site.get(Site.code == "kota-bangun")
        pulse = visits.pulse(hall, at(30, 8, 0))
        visits.record_pulse(hall, {k: str(v) for k, v in pulse.items()}, at(30, 8, 0))
        logged_in(client, "admin")
        html = client.get("/laporan", query_string=TODAY).get_data(as_text=True)
        assert "Data belum lengkap:" in html
        assert "Mini MPP Kota Bangun (data sampai 30-11-2026 08:00 WITA)" in html
        assert "Mini MPP Anggana (data sampai belum pernah)" in html
        assert "Mini MPP Tabang (" not in html  # its tickets are made here: complete
        supervisor = client.application.test_client()
        logged_in(supervisor, "supervisor.tabang")
        html = supervisor.get("/laporan", query_string=TODAY).get_data(as_text=True)
        assert "Data belum lengkap" not in html  # only their own hall counts
    finally:
        link_rows.configure("all-in-one")


@pytest.mark.parametrize("username, shown", [
    ("supervisor.tabang", True), ("admin", True), ("operator.tabang", False)])
def test_staff_pages_link_the_report(client, db, username, shown):
    logged_in(client, username)
    page = client.get("/loket/").get_data(as_text=True)
    assert ('href="/laporan"' in page) is shown


def test_the_page_links_the_kabupatens_monthly_pdf(client, db):
    logged_in(client, "admin")
    page = client.get("/laporan?period=month&from=2026-11-01").get_data(as_text=True)
    assert 'href="/api/v1/reports/monthly.pdf?month=2026-11"' in page
    pdf = client.get("/api/v1/reports/monthly.pdf?month=2026-11")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
