"""The spoken call, built on the server: one tested function for the text.

Indonesian number words: "se-" replaces "satu" before
puluh, belas, ratus and ribu (sepuluh, sebelas, seratus, seribu). A hall reads ticket
numbers either as a whole number ("A dua puluh tiga") or digit by digit
("A nol dua tiga"), per Site.reading_style.
"""
import re

UNITS = ["nol", "satu", "dua", "tiga", "empat", "lima", "enam", "tujuh", "delapan",
         "sembilan"]
READING_STYLES = {"whole": "Bilangan utuh (dua puluh tiga)",
                  "digits": "Digit per digit (nol dua tiga)"}
TICKET_NUMBER = re.compile(r"^([A-Z]{1,2})(\d{1,4})$")


def number_words(n: int) -> str:
    """0..9999 in Indonesian words."""
    if isinstance(n, bool) or not isinstance(n, int) or not 0 <= n <= 9999:
        raise ValueError(f"number out of range 0-9999: {n!r}")
    if n == 0:
        return "nol"
    return " ".join(_words(n))


def _words(n: int) -> list[str]:
    if n == 0:
        return []
    if n < 10:
        return [UNITS[n]]
    if n < 20:
        if n == 10:
            return ["sepuluh"]
        if n == 11:
            return ["sebelas"]
        return [UNITS[n - 10], "belas"]
    for size, word in ((1000, "ribu"), (100, "ratus"), (10, "puluh")):
        if n >= size:
            head, rest = divmod(n, size)
            lead = ["se" + word] if head == 1 else _words(head) + [word]
            return lead + _words(rest)
    raise AssertionError(n)  # pragma: no cover


def digit_words(digits: str) -> str:
    """Digit by digit: "023" -> "nol dua tiga"."""
    if not digits or not digits.isdigit():
        raise ValueError(f"not digits: {digits!r}")
    return " ".join(UNITS[int(d)] for d in digits)


def ticket_words(number: str, style: str = "whole") -> str:
    """"A023" -> "A dua puluh tiga" (whole) or "A nol dua tiga" (digits)."""
    match = TICKET_NUMBER.match(number or "")
    if not match:
        raise ValueError(f"not a ticket number: {number!r}")
    prefix, digits = match.groups()
    if style == "digits":
        spoken = digit_words(digits)
    elif style == "whole":
        spoken = number_words(int(digits))
    else:
        raise ValueError(f"unknown reading style: {style!r}")
    return f"{prefix} {spoken}"


def call_text(number: str, counter_number: int, style: str = "whole") -> str:
    """The announcement: "Nomor antrian A dua puluh tiga, silakan menuju loket tiga".
    The counter is always read as a whole number."""
    return (f"Nomor antrian {ticket_words(number, style)}, "
            f"silakan menuju loket {number_words(counter_number)}")
