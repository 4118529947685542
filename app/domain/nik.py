"""NIK (Nomor Induk Kependudukan) checks, shared by appointments and cases.

A NIK is 16 digits: province(2) regency(2) kecamatan(2) of first registration, birth
date DDMMYY with DD+40 for women, serial(4) from 0001; there is no check digit
(reference/kukar.md). Rules:
- refused: not 16 digits, unknown province code, DD%40 outside 1..31, no real date with
  either century (19YY tried first, then 20YY), serial 0000;
- warned, not refused: regency or kecamatan code unknown (regions split since the NIK
  was issued, so real NIKs carry codes that no longer exist). We know the regencies of
  Kalimantan Timur (64) and the kecamatan of Kutai Kartanegara (64.02); elsewhere only a
  "00" code is flagged.

`mask_nik` is the only form that may appear on a public page, a printout or a log.
"""
import datetime as dt
import re
from dataclasses import dataclass, field

PROVINCES = {
    11, 12, 13, 14, 15, 16, 17, 18, 19, 21, 31, 32, 33, 34, 35, 36, 51, 52, 53,
    61, 62, 63, 64, 65, 71, 72, 73, 74, 75, 76, 81, 82, 91, 92, 93, 94, 95, 96,
}
# Kalimantan Timur (Kemendagri): Paser, Kutai Kartanegara, Berau, Kutai Barat, Kutai
# Timur, Penajam Paser Utara, Mahakam Ulu, Balikpapan, Samarinda, Bontang.
KNOWN_REGENCIES = {64: {1, 2, 3, 7, 8, 9, 11, 71, 72, 74}}
# Kutai Kartanegara: kecamatan 64.02.01 - 64.02.20.
KNOWN_KECAMATAN = {(64, 2): set(range(1, 21))}

_SEPARATORS = re.compile(r"[\s.\-]")


@dataclass
class NikResult:
    ok: bool
    nik: str = ""  # normalised: 16 digits (only meaningful when ok)
    message: str = ""  # why it is refused (Bahasa Indonesia), empty when ok
    warnings: list[str] = field(default_factory=list)
    sex: str | None = None  # "L" | "P"
    birth_date: dt.date | None = None
    region: str = ""  # "PP.KK.CC"

    def __bool__(self):
        return self.ok


def normalise(value) -> str:
    return _SEPARATORS.sub("", value) if isinstance(value, str) else ""


def _real_date(day: int, month: int, yy: int) -> dt.date | None:
    for century in (1900, 2000):
        try:
            return dt.date(century + yy, month, day)
        except ValueError:
            continue
    return None


def validate_nik(value) -> NikResult:
    nik = normalise(value)
    if len(nik) != 16 or not (nik.isascii() and nik.isdigit()):  # no fullwidth digits
        return NikResult(False, nik, "NIK harus 16 angka.")
    province, regency, kecamatan = int(nik[0:2]), int(nik[2:4]), int(nik[4:6])
    if province not in PROVINCES:
        return NikResult(False, nik, f"Kode provinsi NIK ({nik[0:2]}) tidak dikenal.")
    raw_day, month, yy = int(nik[6:8]), int(nik[8:10]), int(nik[10:12])
    day = raw_day - 40 if raw_day > 40 else raw_day  # women: day + 40
    if not (1 <= raw_day <= 31 or 41 <= raw_day <= 71):
        return NikResult(False, nik, "Tanggal lahir pada NIK tidak valid.")
    if not 1 <= month <= 12:
        return NikResult(False, nik, "Bulan lahir pada NIK tidak valid.")
    birth = _real_date(day, month, yy)
    if birth is None:
        return NikResult(False, nik, "Tanggal lahir pada NIK bukan tanggal yang ada.")
    if nik[12:16] == "0000":
        return NikResult(False, nik, "Nomor urut NIK tidak boleh 0000.")
    warnings = []
    known_regencies = KNOWN_REGENCIES.get(province)
    if regency == 0 or (known_regencies is not None and regency not in known_regencies):
        warnings.append(f"Kode kabupaten/kota {nik[0:2]}.{nik[2:4]} tidak kami kenal; "
                        "pastikan NIK sesuai KTP.")
    else:
        known_kecamatan = KNOWN_KECAMATAN.get((province, regency))
        if kecamatan == 0 or (known_kecamatan is not None
                              and kecamatan not in known_kecamatan):
            warnings.append(f"Kode kecamatan {nik[0:2]}.{nik[2:4]}.{nik[4:6]} tidak kami "
                            "kenal; pastikan NIK sesuai KTP.")
    return NikResult(True, nik, "", warnings, "P" if raw_day > 40 else "L", birth,
                     f"{nik[0:2]}.{nik[2:4]}.{nik[4:6]}")


def mask_nik(value) -> str:
    """First four and last four digits: 6402********0001."""
    nik = normalise(value)
    if len(nik) < 8:
        return "*" * len(nik)
    return nik[:4] + "*" * (len(nik) - 8) + nik[-4:]
