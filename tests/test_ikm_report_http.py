"""The staff's "Laporan Hasil SKM" PDF (`/api/v1/sites/<site>/ikm.pdf`, the hall's supervisor or an
admin, by token or signed-in session)."""
import io

import pytest
from pypdf import PdfReader

from app.domain import queueing, survey

from .conftest import at

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
    assert set(op["responses"]) == {"200", "401", "403", "404", "422"}
    assert op["security"] == [{"bearer": []}]


def test_a_suggestion_beyond_latin_1_embeds_a_font(api, db):
    survey.submit(queueing.get_site("tabang"), queueing.get_service("ADM-KTP"), KTP, at(2, 9),
                  comment="Pelayanan cepat ✓ <b>terima kasih</b> & salam")
    api.login("supervisor.tabang")
    flat = " ".join(pdf_text(api.get(f"/api/v1/sites/tabang/ikm.pdf?{NOV}")).split())
    assert "Pelayanan cepat ✓ <b>terima kasih</b> & salam" in flat  # text, not markup
