"""Free text typed by people (running text, notes, names, reasons, comments): the one
rule every such field passes, whatever the entry point (form, JSON API, CLI, seed).

Refused, with a 422 naming the field:
- control characters: C0 (U+0000-U+001F) except tab, line feed and carriage return
  (which a multi-line textarea sends; single-line fields then fold them into spaces),
  DEL (U+007F) and C1 (U+0080-U+009F);
- the bidi embedding, override and isolate controls (U+202A-U+202E, U+2066-U+2069),
  which reorder what follows them on a board, a receipt or a report ("Trojan source");
- the line and paragraph separators U+2028/U+2029 (line breaks to JavaScript).

Allowed on purpose: the directional marks U+200E, U+200F and U+061C. They are the
ordinary way to place a neutral character inside Arabic-script text (a greeting in
Jawi, a name), they open no span that could run past the field, and they cannot turn a
text around the way an override does.
"""
import re

from ..errors import Invalid

FORBIDDEN = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
CODE = "invalid_characters"


def check(value: str, field: str, label: str | None = None) -> str:
    """The text unchanged, or Invalid when it holds a refused character."""
    found = FORBIDDEN.search(value)
    if found is not None:
        what = label or f"Kolom '{field}'"
        raise Invalid(f"{what} memuat karakter kontrol atau pengatur arah teks yang tidak "
                      f"diizinkan (U+{ord(found.group()):04X}). Hapus karakter itu lalu "
                      "kirim lagi.", code=CODE, field=field)
    return value


def single_line(value: str, field: str, label: str | None = None) -> str:
    """Checked, then every run of whitespace folded into one space and the ends trimmed."""
    return " ".join(check(value, field, label).split())


def multi_line(value: str, field: str, label: str | None = None) -> str:
    """Checked, then trimmed; line breaks and tabs kept."""
    return check(value, field, label).strip()
