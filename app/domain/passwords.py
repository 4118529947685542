"""The password policy of staff accounts, and one-time passwords.

A password is refused when it is shorter than `MIN_LENGTH`, when it is one of the common
passwords shipped with the product (`common_passwords.txt`, its sources named at its
top), or when it contains the username; the last two compared case-insensitively.
Hashing stays in `accounts.hash_password` (scrypt).
"""
import secrets
from functools import lru_cache
from pathlib import Path

from ..errors import Invalid
from .codes import READABLE_ALPHABET

MIN_LENGTH = 10
MAX_LENGTH = 200
COMMON_PASSWORDS = Path(__file__).resolve().parent / "common_passwords.txt"


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    lines = COMMON_PASSWORDS.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().lower() for line in lines
                     if line.strip() and not line.startswith("#"))


def problem(password: str, username: str = "") -> str | None:
    """Why this password is refused (Bahasa Indonesia), or None when it is good."""
    if len(password) < MIN_LENGTH:
        return f"Kata sandi minimal {MIN_LENGTH} karakter."
    if len(password) > MAX_LENGTH:
        return f"Kata sandi maksimal {MAX_LENGTH} karakter."
    lowered = password.lower()
    if lowered in common_passwords() or lowered.strip() in common_passwords():
        return "Kata sandi ini terlalu umum dan mudah ditebak. Pilih yang lain."
    if username and username.strip().lower() in lowered:
        return "Kata sandi tidak boleh memuat nama pengguna."
    return None


def check(password: str, username: str = "", field: str = "password") -> None:
    """Raise Invalid (422 `weak_password`) with the reason when the policy refuses."""
    reason = problem(password, username)
    if reason:
        raise Invalid(reason, code="weak_password", field=field)


def one_time_password(username: str = "") -> str:
    """A random password for a new or reset account, read out or copied once: three
    groups of four readable symbols (60 random bits), e.g. `K7QM-2WXD-PA9T`."""
    while True:
        symbols = "".join(secrets.choice(READABLE_ALPHABET) for _ in range(12))
        candidate = "-".join(symbols[i:i + 4] for i in range(0, 12, 4))
        if problem(candidate, username) is None:
            return candidate
