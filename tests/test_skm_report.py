"""The SKM report's figures, computed by hand from three fixed answer sheets: the hall,
each service and agency, the respondent profile, the masked suggestions and the
Krejcie-Morgan sample against the tickets served."""
import datetime as dt
from fractions import Fraction

import pytest

from app.domain import queueing, skm_report, survey

from .conftest import MONDAY_9, at

KTP = [4, 3, 2, 4, 3, 3, 4, 2, 3]   # sum 28
KK = [3, 3, 2, 4, 4, 3, 4, 3, 3]    # sum 29
SKCK = [2, 2, 1, 4, 2, 2, 3, 1, 2]  # sum 19
NOV = (dt.date(2026, 11, 1), dt.date(2026, 11, 30))


def site(code="tabang"):
    return queueing.get_site(code)


def answer(service, answers, now, comment=None, profile=None, site_code="tabang"):
    return survey.submit(site(site_code), queueing.get_service(service), answers, now,
                         comment=comment, profile=profile)


@pytest.fixture
def three_sheets(db):
    answer("ADM-KTP", KTP, at(2, 9), comment="Antrean cepat, hubungi saya 0812-3456-7890",
           profile={"sex": "P", "age_band": "30-39", "education": "SMA",
                    "occupation": "Wirausaha"})
    answer("ADM-KK", KK, at(16, 10), comment="  ", profile={"sex": "L", "education": "SMA"})
    answer("POL-SKCK", SKCK, at(27, 11), comment="NIK saya 6402124508900001 belum jadi")
    # Neither another hall nor another month counts.
    answer("ADM-KTP", [1] * 9, at(27, 11), comment="Lain lokasi", site_code="induk")
    answer("ADM-KTP", [1] * 9, at(30, 9, month=10), comment="Bulan lalu")


def test_the_hall_by_hand(three_sheets):
    rep = skm_report.report(site(), *NOV)
    assert rep.overall.responses == 3
    nrr = {u.code: u.nrr for u in rep.overall.unsur}
    # U1 (4+3+2)/3 = 3, U3 (2+2+1)/3 = 5/3, U7 (4+4+3)/3 = 11/3, U8 (2+3+1)/3 = 2
    assert (nrr["U1"], nrr["U3"], nrr["U7"], nrr["U8"]) == (3, Fraction(5, 3),
                                                            Fraction(11, 3), 2)
    # (28 + 29 + 19) / 3 = 76/3 summed NRR; / 9 x 25 = 1900/27 = 70.370... -> 70.37, C
    assert (rep.overall.ikm, rep.overall.grade, rep.overall.grade_label) == (
        70.37, "C", "Kurang Baik")
    assert [u.code for u in rep.weakest] == ["U3"]
    # an unsur's mutu: 5/3 x 25 = 41.67 D; 11/3 x 25 = 91.67 A; 3 x 25 = 75 C
    assert [skm_report.unsur_grade(nrr[c]) for c in ("U3", "U7", "U1", "U4")] == [
        "D", "A", "C", "A"]


def test_each_service_and_agency_by_hand(three_sheets):
    services = {g.code: (g.responses, g.result.ikm, g.result.grade, g.agency)
                for g in skm_report.by_service(site(), *NOV)}
    assert services == {
        "ADM-KTP": (1, 77.78, "B", "Dinas Kependudukan dan Pencatatan Sipil"),  # 28/9x25
        "ADM-KK": (1, 80.56, "B", "Dinas Kependudukan dan Pencatatan Sipil"),   # 29/9x25
        "POL-SKCK": (1, 52.78, "D", "Polres Kutai Kartanegara"),                # 19/9x25
    }
    agencies = {g.code: (g.responses, g.result.ikm, g.result.grade)
                for g in skm_report.by_agency(site(), *NOV)}
    # Disdukcapil: (28 + 29) / 2 / 9 x 25 = 79.166... -> 79.17
    assert agencies == {"disdukcapil": (2, 79.17, "B"), "polres": (1, 52.78, "D")}
    assert skm_report.by_service(site(), dt.date(2026, 12, 1), dt.date(2026, 12, 31)) == []
    assert skm_report.by_agency(site("muara-wis"), *NOV) == []


def test_the_respondent_profile(three_sheets):
    profile = skm_report.profile_counts(site(), *NOV)
    assert list(profile) == ["age_band", "sex", "education", "occupation"]
    assert profile["sex"] == [("Laki-laki", 1), ("Perempuan", 1), ("Tidak diisi", 1)]
    assert dict(profile["age_band"]) == {"< 20 tahun": 0, "20-29": 0, "30-39": 1, "40-49": 0,
                                         "50-59": 0, "60 tahun ke atas": 0, "Tidak diisi": 2}
    assert dict(profile["education"])["SMA"] == 2
    assert dict(profile["education"])["Tidak diisi"] == 1
    assert dict(profile["occupation"])["Wirausaha"] == 1
    assert dict(profile["occupation"])["Tidak diisi"] == 2
    assert all(sum(n for _label, n in rows) == 3 for rows in profile.values())


def test_the_suggestions_newest_first_and_masked(three_sheets):
    assert skm_report.suggestions(site(), *NOV) == [
        skm_report.Suggestion(dt.date(2026, 11, 27), "NIK saya ************0001 belum jadi"),
        skm_report.Suggestion(dt.date(2026, 11, 2),
                              "Antrean cepat, hubungi saya ********7890"),
    ]


@pytest.mark.parametrize("text, masked", [
    ("6402124508900001", "************0001"),
    ("nik 6402 1245 0890 0001.", "nik ************0001."),
    ("wa 0812-3456-7890 ya", "wa ********7890 ya"),
    ("+62 812 3456 7890", "*********7890"),
    ("6281234567890", "*********7890"),
    ("081234567", "*****4567"),
    ("Biaya Rp 150.000.000 terlalu mahal", "Biaya Rp 150.000.000 terlalu mahal"),
    ("antrian A023 tahun 2026 loket 3", "antrian A023 tahun 2026 loket 3"),
    ("kode 12345678", "kode 12345678"),
    ("0812 3456 7890 dan 0813 1111 2222", "********7890 dan ********2222"),
    ("6402124508900001 081234567890", "************0001 ********7890"),
    ("tiket 123 0812 3456 7890", "tiket 123 ********7890"),
    ("kode 12 0812 3456 7890.", "kode 12 ********7890."),
    ("2026 0812 3456 7890", "************7890"),  # 16 digits in a row: masked as a NIK
])
def test_numbers_that_look_personal_are_masked(text, masked):
    assert skm_report.mask_numbers(text) == masked


def finish_one():
    s = site()
    ticket = queueing.issue_ticket(s, queueing.get_service("ADM-KTP"), MONDAY_9)
    queueing.call_next(queueing.get_counter(s, "L1"), MONDAY_9, "operator.tabang")
    queueing.start(ticket.id, MONDAY_9, "operator.tabang")
    return queueing.finish(ticket.id, "completed", MONDAY_9, "operator.tabang")


def test_the_sample_against_the_tickets_served(db):
    day = MONDAY_9.date()
    assert skm_report.sample(site(), day, day, 0).sentence() == (
        "Belum ada responden pada periode ini.")
    finish_one()
    finish_one()
    answer("ADM-KTP", KTP, MONDAY_9)
    # 2 served: Krejcie-Morgan asks 3.841 x 2 x 0.25 / (0.0025 x 1 + 0.96) = 1.99 -> 2
    one = skm_report.published(site(), day, day).sample
    assert (one.respondents, one.served, one.needed, one.enough) == (1, 2, 2, False)
    assert one.sentence() == "Jumlah responden 1: sampel belum memenuhi (minimal 2 responden)."
    answer("ADM-KK", KK, MONDAY_9)
    two = skm_report.published(site(), day, day).sample
    assert two.enough and two.sentence() == "Jumlah responden memenuhi sampel minimal 2."
    big = skm_report.Sample(respondents=250, served=1000, needed=278)
    assert big.sentence() == (
        "Jumlah responden 250: sampel belum memenuhi (minimal 278 responden).")
    assert skm_report.Sample(400, 40_000, 380).sentence() == (
        "Jumlah responden memenuhi sampel minimal 380.")


def test_numbers_and_days_in_indonesian():
    assert skm_report.decimal(79.1666) == "79,17"
    assert skm_report.decimal(1234.5) == "1.234,50"
    assert skm_report.decimal(Fraction(1, 9), 3) == "0,111"
    assert skm_report.whole(40_000) == "40.000"
    assert skm_report.period_text(dt.date(2026, 1, 1), dt.date(2026, 11, 30)) == (
        "1 Januari 2026 s.d. 30 November 2026")
    assert skm_report.period_text(dt.date(2026, 3, 5), dt.date(2026, 3, 5)) == "5 Maret 2026"


def test_the_published_part_has_no_profile_and_no_suggestions(three_sheets):
    public = skm_report.published(site(), *NOV)
    assert public.overall.ikm == 70.37 and len(public.services) == 3
    assert not hasattr(public, "suggestions") and not hasattr(public, "profile")
