"""A hall's published IKM page (`/ikm/<site>`, anyone: figures only) and the staff's
"Laporan Hasil SKM" PDF (`/api/v1/sites/<site>/ikm.pdf`, the hall's supervisor or an
admin, by token or signed-in session)."""
import io
import re

import pytest
from pypdf import PdfReader

from app.domain import queueing, survey

from .conftest import at
from .pages import logged_in

KTP = [4, 3, 2, 4, 3, 3, 4, 2, 3]   # sum 28
KK = [3, 3, 2, 4, 4, 3, 4, 3, 3]    # sum 29
SKCK = [2, 2, 1, 4, 2, 2, 3, 1, 2]  # sum 19
NIK_NOTE = "NIK saya 6402124508900001 belum jadi"
PHONE_NOTE = "Antrean cepat, hubungi saya 0812-3456-7890"
NOV = "from=2026-11-01&to=2026-11-30"


@pytest.fixture
def sheets(db):
    def answer(service, answers, moment, comment=None, profile=None):
        survey.submit(queueing.get_site("tabang"), queueing.get_service(service), answers,
                      moment, comment=comment, profile=profile)
    answer("ADM-KTP", KTP, at(2, 9), comment=PHONE_NOTE,
           profile={"sex": "P", "age_band": "30-39", "education": "SMA",
                    "occupation": "Wirausaha"})
    answer("ADM-KK", KK, at(16, 10), profile={"sex": "L"})
    answer("POL-SKCK", SKCK, at(27, 11), comment=NIK_NOTE)


def text(response) -> str:
    return response.get_data(as_text=True)


def test_the_public_page_shows_figures_and_never_the_sheets(client, sheets):
    r = client.get(f"/ikm/tabang?{NOV}")
    assert r.status_code == 200 and r.mimetype == "text/html"
    page = text(r)
    # (28 + 29 + 19) / 3 / 9 x 25 = 70.370... -> 70,37, C Kurang Baik; three respondents
    assert "70,37" in page and "C — Kurang Baik" in page and "dari 3 responden" in page
    assert "1 November 2026 s.d. 30 November 2026" in page
    rows = re.findall(r"<tr[^>]*>.*?</tr>", page, re.S)
    weakest = [row for row in rows if 'class="weakest"' in row]
    assert len(weakest) == 1 and "Waktu penyelesaian" in weakest[0]
    assert "Prioritas perbaikan" in weakest[0] and "1,67" in weakest[0]  # 5/3
    assert "41,67" in weakest[0]  # 5/3 x 25
    service_rows = {name: row for row in rows for name in ("KTP Elektronik", "SKCK",
                                                           "Kartu Keluarga") if name in row}
    assert "77,78" in service_rows["KTP Elektronik"] and ">B<" in service_rows["KTP Elektronik"]
    assert "52,78" in service_rows["SKCK"] and ">D<" in service_rows["SKCK"]
    assert "Pendaftaran Nikah" not in page  # a service without answers has no row
    # 0 served this month: Krejcie-Morgan asks for none; the page says the sample is met
    assert "Jumlah responden memenuhi sampel minimal 0." in page
    for secret in (NIK_NOTE, PHONE_NOTE, "6402124508900001", "************0001",
                   "0812-3456-7890", "********7890", "Wirausaha", "Perempuan", '"U1"'):
        assert secret not in page
    assert "ikm.pdf" not in page  # the staff's download is not offered to a citizen


def test_the_public_page_before_any_answer_and_its_errors(client, db):
    page = text(client.get("/ikm/tabang"))
    assert "Belum ada responden pada periode ini" in page
    assert "1 Januari 2026 s.d. 30 November 2026" in page  # this year so far (WITA)
    missing = client.get("/ikm/nowhere")
    assert missing.status_code == 404 and missing.mimetype == "text/html"
    assert "tidak dikenal" in text(missing)
    bad = client.get("/ikm/tabang?from=30-11-2026")
    assert bad.status_code == 422 and "YYYY-MM-DD" in text(bad)


def test_the_sample_falls_short_when_few_answer(client, db):
    site = queueing.get_site("tabang")
    for _ in range(2):
        ticket = queueing.issue_ticket(site, queueing.get_service("ADM-KTP"), at(30, 9))
        queueing.call_next(queueing.get_counter(site, "L1"), at(30, 9), "operator.tabang")
        queueing.start(ticket.id, at(30, 9), "operator.tabang")
        queueing.finish(ticket.id, "completed", at(30, 9), "operator.tabang")
    survey.submit(site, None, KTP, at(30, 9), ticket_id=ticket.id)
    page = text(client.get("/ikm/tabang?from=2026-11-30&to=2026-11-30"))
    assert "sampel belum memenuhi (minimal 2 responden)" in page


def pdf_text(response) -> str:
    assert response.status_code == 200, text(response)
    assert response.mimetype == "application/pdf"
    reader = PdfReader(io.BytesIO(response.data))
    return "\n".join(page.extract_text() for page in reader.pages)


def test_the_report_pdf_for_the_halls_supervisor(api, sheets):
    api.login("supervisor.tabang")
    r = api.get(f"/api/v1/sites/tabang/ikm.pdf?{NOV}")
    assert "no-store" in r.headers["Cache-Control"]
    assert "laporan-skm-tabang-2026-11-01-2026-11-30.pdf" in r.headers["Content-Disposition"]
    content = pdf_text(r)
    flat = " ".join(content.split())
    assert "LAPORAN HASIL SURVEI KEPUASAN MASYARAKAT (SKM)" in flat
    assert "Mini MPP Tabang" in flat
    assert "1 November 2026 s.d. 30 November 2026" in flat
    assert "Nilai IKM: 70,37" in flat and "Mutu pelayanan: C (Kurang Baik)" in flat
    assert "Prioritas perbaikan: U3 Waktu penyelesaian" in flat
    assert "79,17" in flat  # Disdukcapil: (28 + 29) / 2 / 9 x 25
    assert "NIK saya ************0001 belum jadi" in flat
    assert "hubungi saya ********7890" in flat
    assert "6402124508900001" not in flat and "0812-3456-7890" not in flat
    assert "Perempuan" in flat and "Tidak diisi" in flat  # the respondent profile
    assert "Jumlah responden memenuhi sampel minimal 0." in flat
    assert "Dibuat 30 November 2026 pukul 09.00 WITA" in flat  # the test clock, in WITA


def test_the_report_pdf_from_a_signed_in_session_and_for_an_admin(client, api, sheets):
    logged_in(client, "supervisor.tabang")
    page = text(client.get(f"/ikm/tabang?{NOV}"))
    link = re.search(r'href="(/api/v1/sites/tabang/ikm\.pdf[^"]*)"', page)
    assert link, "the hall's supervisor is offered the report"
    assert "Nilai IKM: 70,37" in " ".join(pdf_text(client.get(link.group(1).replace(
        "&amp;", "&"))).split())
    assert "ikm.pdf" not in text(client.get("/ikm/induk"))  # not their hall
    api.login("admin")
    assert "Mini MPP Tabang" in pdf_text(api.get("/api/v1/sites/tabang/ikm.pdf"))


@pytest.mark.parametrize("username, status", [
    (None, 401), ("operator.tabang", 403), ("supervisor.induk", 403)])
def test_the_report_pdf_is_for_the_halls_supervisor_only(api, sheets, username, status):
    if username:
        api.login(username)
    r = api.get("/api/v1/sites/tabang/ikm.pdf")
    assert r.status_code == status and r.mimetype == "application/json"
    assert r.json["error"]["code"] in ("unauthorized", "forbidden")


def test_the_report_pdf_refuses_a_bad_token_a_bad_period_and_an_unknown_hall(api, client, db):
    r = client.get("/api/v1/sites/tabang/ikm.pdf", headers={"Authorization": "Bearer nope"})
    assert r.status_code == 401 and r.json["error"]["code"] == "invalid_token"
    api.login("supervisor.tabang")
    for query in ("from=30-11-2026", "from=2026-12-01&to=2026-11-01", "to=2026-13-01"):
        r = api.get(f"/api/v1/sites/tabang/ikm.pdf?{query}")
        assert r.status_code == 422 and r.json["error"]["code"] == "invalid_date", query
    api.login("admin")
    r = api.get("/api/v1/sites/nowhere/ikm.pdf")
    assert r.status_code == 404 and r.json["error"]["code"] == "unknown_site"


def test_an_empty_period_still_makes_a_report(api, db):
    api.login("supervisor.tabang")
    flat = " ".join(pdf_text(api.get("/api/v1/sites/tabang/ikm.pdf?from=2026-02-01&to=2026-02-28"
                                     )).split())
    assert "Belum ada responden pada periode ini" in flat
    assert "1 Februari 2026 s.d. 28 Februari 2026" in flat


def test_openapi_lists_the_report(client):
    op = client.get("/api/v1/openapi.json").json["paths"]["/api/v1/sites/{site}/ikm.pdf"]["get"]
    # 414: gunicorn's answer to an overlong query, listed for every row with a query
    assert set(op["responses"]) - {"414"} == {"200", "401", "403", "404", "422"}
    assert op["security"] == [{"bearer": []}]


def test_a_suggestion_beyond_latin_1_embeds_a_font(api, db):
    survey.submit(queueing.get_site("tabang"), queueing.get_service("ADM-KTP"), KTP, at(2, 9),
                  comment="Pelayanan cepat ✓ <b>terima kasih</b> & salam")
    api.login("supervisor.tabang")
    flat = " ".join(pdf_text(api.get(f"/api/v1/sites/tabang/ikm.pdf?{NOV}")).split())
    assert "Pelayanan cepat ✓ <b>terima kasih</b> & salam" in flat  # text, not markup


def test_the_service_standards_link_the_index(client, db):
    assert "/ikm/tabang" in text(client.get("/layanan/tabang"))
