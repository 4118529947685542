"""The spoken call: Indonesian number words 0-9999, both reading styles, the phrase."""
import pytest

from boards.speech import call_text, digit_words, number_words, ticket_words

KNOWN = {
    0: "nol", 1: "satu", 2: "dua", 7: "tujuh", 8: "delapan", 9: "sembilan",
    10: "sepuluh", 11: "sebelas", 12: "dua belas", 15: "lima belas", 19: "sembilan belas",
    20: "dua puluh", 21: "dua puluh satu", 23: "dua puluh tiga", 40: "empat puluh",
    99: "sembilan puluh sembilan", 100: "seratus", 101: "seratus satu",
    110: "seratus sepuluh", 111: "seratus sebelas", 119: "seratus sembilan belas",
    120: "seratus dua puluh", 200: "dua ratus", 305: "tiga ratus lima",
    999: "sembilan ratus sembilan puluh sembilan", 1000: "seribu", 1001: "seribu satu",
    1010: "seribu sepuluh", 1011: "seribu sebelas", 1100: "seribu seratus",
    1111: "seribu seratus sebelas", 2000: "dua ribu", 2026: "dua ribu dua puluh enam",
    5017: "lima ribu tujuh belas",
    9999: "sembilan ribu sembilan ratus sembilan puluh sembilan",
}


@pytest.mark.parametrize("n,words", sorted(KNOWN.items()))
def test_known_numbers(n, words):
    assert number_words(n) == words


def _parse(words: str) -> int:
    """An independent reader of the words back to a number, for the full range."""
    units = {w: i for i, w in enumerate("nol satu dua tiga empat lima enam tujuh delapan "
                                        "sembilan".split())}
    tokens = words.split()
    total, current = 0, 0
    for i, token in enumerate(tokens):
        if token in ("sepuluh", "sebelas", "seratus", "seribu"):
            value = {"sepuluh": 10, "sebelas": 11, "seratus": 100, "seribu": 1000}[token]
            if value == 1000:
                total += 1000
            else:
                current += value
        elif token == "belas":
            current += 10
        elif token == "puluh":
            last = current % 10
            current = current - last + last * 10
        elif token == "ratus":
            last = current % 10
            current = current - last + last * 100
        elif token == "ribu":
            total += current * 1000
            current = 0
        else:
            assert token in units, token
            current += units[token]
    return total + current


def test_every_number_from_0_to_9999_reads_back():
    for n in range(10000):
        words = number_words(n)
        assert _parse(words) == n, (n, words)
        tokens = words.split()
        # "se-" replaces "satu" before puluh, belas, ratus and ribu.
        for a, b in zip(tokens, tokens[1:]):
            assert not (a == "satu" and b in ("puluh", "belas", "ratus", "ribu")), words
        assert "nol" not in tokens or n == 0


@pytest.mark.parametrize("bad", [-1, 10000, 3.5, "12", None, True])
def test_out_of_range_is_refused(bad):
    with pytest.raises(ValueError):
        number_words(bad)


def test_digit_by_digit():
    assert digit_words("023") == "nol dua tiga"
    assert digit_words("1000") == "satu nol nol nol"
    with pytest.raises(ValueError):
        digit_words("12a")


@pytest.mark.parametrize("number,style,spoken", [
    ("A023", "whole", "A dua puluh tiga"),
    ("A023", "digits", "A nol dua tiga"),
    ("B001", "whole", "B satu"),
    ("B001", "digits", "B nol nol satu"),
    ("C111", "whole", "C seratus sebelas"),
    ("A1000", "whole", "A seribu"),
    ("A1000", "digits", "A satu nol nol nol"),
    ("P010", "whole", "P sepuluh"),
])
def test_ticket_numbers_in_both_styles(number, style, spoken):
    assert ticket_words(number, style) == spoken


@pytest.mark.parametrize("number", ["", "023", "a023", "A02x", "A12345", "ABC1"])
def test_bad_ticket_numbers(number):
    with pytest.raises(ValueError):
        ticket_words(number)


def test_unknown_style():
    with pytest.raises(ValueError):
        ticket_words("A001", "roman")


def test_the_call_phrase():
    assert call_text("A023", 3) == "Nomor antrian A dua puluh tiga, silakan menuju loket tiga"
    assert (call_text("A023", 3, "digits")
            == "Nomor antrian A nol dua tiga, silakan menuju loket tiga")
    # The counter is always read as a whole number.
    assert call_text("E105", 12, "digits").endswith("silakan menuju loket dua belas")
    assert call_text("E105", 11).endswith("loket sebelas")
