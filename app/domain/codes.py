"""Codes a citizen reads out over a counter or a phone, or types at a kiosk: booking
codes and case tracking codes. 32 symbols without 0/O and 1/I, so each symbol carries 5
random bits and none is mistaken for another."""
import secrets

READABLE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"


def random_symbols(length: int) -> str:
    return "".join(secrets.choice(READABLE_ALPHABET) for _ in range(length))


def all_readable(text: str) -> bool:
    return all(c in READABLE_ALPHABET for c in text)
