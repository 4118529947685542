"""NIK rules (reference/kukar.md), phone and e-mail normalisation."""
import datetime as dt

import pytest

from app.domain.contact import mask_email, mask_phone, normalise_email, normalise_phone
from app.domain.nik import mask_nik, validate_nik
from app.errors import Invalid


def test_a_mans_nik_from_tabang():
    result = validate_nik("6402121708850003")
    assert result.ok and result.warnings == []
    assert (result.sex, result.birth_date, result.region) == ("L", dt.date(1985, 8, 17),
                                                             "64.02.12")


def test_a_womans_day_is_plus_forty():
    result = validate_nik("6402065508920001")  # 55 = 15 + 40
    assert result.ok and result.sex == "P" and result.birth_date == dt.date(1992, 8, 15)


def test_separators_are_ignored():
    assert validate_nik("6402 1217 0885 0003").nik == "6402121708850003"
    assert validate_nik("64.02.12.170885.0003").ok


@pytest.mark.parametrize("nik, why", [
    ("640212170885000", "16 angka"),           # 15 digits
    ("64021217088500031", "16 angka"),         # 17 digits
    ("640212170885000A", "16 angka"),
    ("", "16 angka"),
    (None, "16 angka"),
    ("2002121708850003", "provinsi"),          # 20 is not a province
    ("9902121708850003", "provinsi"),
    ("6402120008850003", "Tanggal"),           # day 00
    ("6402123208850003", "Tanggal"),           # day 32
    ("6402124008850003", "Tanggal"),           # 40 = day 0 for a woman
    ("6402127208850003", "Tanggal"),           # 72 = day 32 for a woman
    ("6402121713850003", "Bulan"),             # month 13
    ("6402123102850003", "bukan tanggal"),     # 31 February in any century
    ("6402126902010003", "bukan tanggal"),     # 29 Feb 1901/2001 (woman): no leap year
    ("6402121708850000", "0000"),
])
def test_refused(nik, why):
    result = validate_nik(nik)
    assert not result.ok
    assert why in result.message


def test_century_is_tried_both_ways():
    # 29 February 00: 1900 was not a leap year, 2000 was.
    result = validate_nik("6402122902000001")
    assert result.ok and result.birth_date == dt.date(2000, 2, 29)


@pytest.mark.parametrize("nik, warning", [
    ("6499121708850003", "kabupaten/kota 64.99"),   # no regency 99 in Kaltim
    ("6402991708850003", "kecamatan 64.02.99"),     # Kukar has kecamatan 01-20
    ("3200011708850003", "kabupaten/kota 32.00"),   # regency 00 anywhere
])
def test_unknown_regions_are_warnings_not_refusals(nik, warning):
    result = validate_nik(nik)
    assert result.ok
    assert any(warning in w for w in result.warnings)


def test_other_provinces_regions_are_not_second_guessed():
    assert validate_nik("3273011708850003").warnings == []  # Bandung


def test_mask_nik():
    assert mask_nik("6402121708850003") == "6402********0003"
    assert mask_nik("12") == "**"


@pytest.mark.parametrize("raw", ["081234567890", "0812-3456-7890", "+62 812 3456 7890",
                                 "6281234567890", "(0812) 3456 7890"])
def test_phone_formats_are_normalised(raw):
    assert normalise_phone(raw) == "+6281234567890"


@pytest.mark.parametrize("raw", ["", None, "12345", "0541-123456", "+1 415 555 0100",
                                 "08123", "0812345678901234", "0812abc45678"])
def test_bad_phones_are_refused(raw):
    with pytest.raises(Invalid) as exc:
        normalise_phone(raw)
    assert exc.value.code == "invalid_phone"


def test_mask_phone():
    assert mask_phone("+6281234567890") == "0812****7890"


def test_email_is_optional_and_checked():
    assert normalise_email(None) is None
    assert normalise_email("  ") is None
    assert normalise_email(" siti@example.co.id ") == "siti@example.co.id"
    for bad in ("siti", "siti@", "@example.com", "a b@example.com", "x@" + "a" * 300 + ".id"):
        with pytest.raises(Invalid) as exc:
            normalise_email(bad)
        assert exc.value.code == "invalid_email"
    assert mask_email("siti@example.com") == "si***@example.com"
