"""Indonesian mobile numbers and e-mail addresses: validate, normalise, mask."""
import re

from ..errors import Invalid

_PHONE_JUNK = re.compile(r"[\s.\-()]")
_EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}"
                    r"[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$")


def normalise_phone(value) -> str:
    """'0812-3456-789', '+62 812 3456 789' and '628123456789' all give '+628123456789'.
    Mobile numbers only (8xx after the country code, 9 to 12 digits after it)."""
    raw = _PHONE_JUNK.sub("", value) if isinstance(value, str) else ""
    if raw.startswith("+62"):
        national = raw[3:]
    elif raw.startswith("62"):
        national = raw[2:]
    elif raw.startswith("0"):
        national = raw[1:]
    else:
        national = ""
    if not (national.isascii() and national.isdecimal() and national.startswith("8")
            and 9 <= len(national) <= 12):
        raise Invalid("Nomor HP tidak valid. Tulis seperti 0812xxxxxxx atau +62812xxxxxxx.",
                      code="invalid_phone", field="phone")
    return "+62" + national


def mask_phone(phone: str) -> str:
    """'+628123456789' -> '0812****6789'."""
    local = "0" + phone[3:] if phone and phone.startswith("+62") else (phone or "")
    if len(local) < 8:
        return "*" * len(local)
    return local[:4] + "*" * (len(local) - 8) + local[-4:]


def normalise_email(value) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    email = value.strip() if isinstance(value, str) else ""
    if len(email) > 254 or not _EMAIL.match(email):
        raise Invalid("Alamat e-mail tidak valid.", code="invalid_email", field="email")
    return email


def mask_email(email: str | None) -> str | None:
    if not email:
        return None
    local, _, domain = email.partition("@")
    return (local[:2] + "***@" + domain) if domain else "***"
