"""NIK (Nomor Induk Kependudukan) checks: PPKKCC DDMMYY SSSS (../reference/kukar.md).

Minimal version for the cases feature; validate_nik / mask_nik are the interface.
"""
import datetime as dt
from dataclasses import dataclass, field

PROVINCES = ({*range(11, 20), 21, *range(31, 37), *range(51, 54), *range(61, 66),
              *range(71, 77), 81, 82, *range(91, 97)})
KUKAR_KECAMATAN = {f"{n:02d}" for n in range(1, 21)}  # 64.02.01 - 64.02.20


@dataclass(frozen=True)
class NikCheck:
    ok: bool
    message: str = ""
    warnings: list[str] = field(default_factory=list)
    female: bool | None = None
    birth_date: dt.date | None = None


def _birth_date(day: int, month: int, yy: int) -> dt.date | None:
    for century in (1900, 2000):  # the century is ambiguous: try 19YY, then 20YY
        try:
            return dt.date(century + yy, month, day)
        except ValueError:
            continue
    return None


def validate_nik(nik) -> NikCheck:
    if not isinstance(nik, str):
        return NikCheck(False, "NIK harus berupa 16 angka.")
    nik = nik.strip().replace(" ", "").replace(".", "")
    if len(nik) != 16 or not nik.isascii() or not nik.isdigit():
        return NikCheck(False, "NIK harus terdiri dari 16 angka.")
    if int(nik[:2]) not in PROVINCES:
        return NikCheck(False, "Kode provinsi pada NIK tidak dikenal.")
    raw_day, month, yy = int(nik[6:8]), int(nik[8:10]), int(nik[10:12])
    female = raw_day > 40
    day = raw_day - 40 if female else raw_day
    if not 1 <= day <= 31 or not 1 <= month <= 12:
        return NikCheck(False, "Tanggal lahir pada NIK tidak valid.")
    born = _birth_date(day, month, yy)
    if born is None:
        return NikCheck(False, "Tanggal lahir pada NIK tidak valid.")
    if nik[12:] == "0000":
        return NikCheck(False, "Nomor urut pada NIK tidak boleh 0000.")
    warnings = []
    if nik[:4] == "6402" and nik[4:6] not in KUKAR_KECAMATAN:
        warnings.append("Kode kecamatan pada NIK tidak dikenal (mungkin wilayah lama).")
    if nik[2:4] == "00" or nik[4:6] == "00":
        warnings.append("Kode kabupaten/kecamatan pada NIK tidak dikenal.")
    return NikCheck(True, "", warnings, female, born)


def normalise(nik: str) -> str:
    return nik.strip().replace(" ", "").replace(".", "")


def mask_nik(nik: str | None) -> str:
    """6402********0001: region and serial kept, birth date hidden."""
    if not nik:
        return ""
    nik = str(nik)
    if len(nik) < 8:
        return "*" * len(nik)
    return nik[:4] + "*" * (len(nik) - 8) + nik[-4:]


def mask_phone(phone: str | None) -> str:
    if not phone:
        return ""
    return phone[:4] + "*" * max(len(phone) - 7, 0) + phone[-3:] if len(phone) > 7 else "***"
