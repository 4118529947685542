"""The community satisfaction index (SKM/IKM, PermenPAN-RB 14/2017), computed exactly.

Nine unsur (elements), each answered 1-4 with its own wording. For each unsur
NRR = sum of its answers / respondents; IKM = the sum of NRR x 1/9 (exact ninths, not the
regulation's rounded 0.111, which would turn a perfect score into 99.9); the unit's figure
is IKM x 25, shown with two decimals and graded from that shown figure. Unsur are keyed
by code (U1..U9): sources order the eighth and ninth differently, so positions alone
are never trusted.

The sample a period needs follows the Krejcie-Morgan table (95 % confidence, 5 % margin):
`sample_size(population)`.
"""
import math
from dataclasses import dataclass
from fractions import Fraction

from ..errors import Invalid

# (code, name, answer wording for 1, 2, 3, 4)
UNSUR = [
    ("U1", "Persyaratan", ("Tidak sesuai", "Kurang sesuai", "Sesuai", "Sangat sesuai")),
    ("U2", "Sistem, mekanisme dan prosedur",
     ("Tidak mudah", "Kurang mudah", "Mudah", "Sangat mudah")),
    ("U3", "Waktu penyelesaian", ("Tidak cepat", "Kurang cepat", "Cepat", "Sangat cepat")),
    ("U4", "Biaya/tarif", ("Sangat mahal", "Cukup mahal", "Murah", "Gratis")),
    ("U5", "Produk spesifikasi jenis pelayanan",
     ("Tidak sesuai", "Kurang sesuai", "Sesuai", "Sangat sesuai")),
    ("U6", "Kompetensi pelaksana",
     ("Tidak kompeten", "Kurang kompeten", "Kompeten", "Sangat kompeten")),
    ("U7", "Perilaku pelaksana",
     ("Tidak sopan dan ramah", "Kurang sopan dan ramah", "Sopan dan ramah",
      "Sangat sopan dan ramah")),
    ("U8", "Penanganan pengaduan, saran dan masukan",
     ("Tidak ada", "Ada tetapi tidak berfungsi", "Berfungsi kurang maksimal",
      "Dikelola dengan baik")),
    ("U9", "Sarana dan prasarana", ("Buruk", "Cukup", "Baik", "Sangat baik")),
]
CODES = [code for code, _name, _words in UNSUR]
NAMES = {code: name for code, name, _words in UNSUR}
# Lowest shown figure of each grade, on 25-100.
GRADES = [(Fraction(8831, 100), "A", "Sangat Baik"), (Fraction(7661, 100), "B", "Baik"),
          (Fraction(65), "C", "Kurang Baik"), (Fraction(25), "D", "Tidak Baik")]


@dataclass(frozen=True)
class UnsurScore:
    code: str
    name: str
    nrr: Fraction

    def as_dict(self) -> dict:
        return {"code": self.code, "name": self.name, "nrr": round(float(self.nrr), 2)}


@dataclass(frozen=True)
class IkmResult:
    responses: int
    unsur: list[UnsurScore]
    ikm: float | None      # the unit's figure on 25-100, two decimals; None: no answers
    grade: str | None
    grade_label: str | None
    weakest: list[str]     # the unsur with the lowest NRR (several when tied)

    def as_dict(self) -> dict:
        return {"responses": self.responses, "unsur": [u.as_dict() for u in self.unsur],
                "ikm": self.ikm, "grade": self.grade, "grade_label": self.grade_label,
                "weakest": self.weakest}


def answers_from_list(values) -> dict[str, int]:
    """The API's `answers`: nine integers 1-4 in unsur order, checked, keyed by code."""
    if not isinstance(values, list) or len(values) != len(CODES):
        raise Invalid("Jawaban harus berupa 9 angka 1-4, urut unsur U1-U9.",
                      code="invalid_answers", field="answers")
    if any(isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= 4
           for v in values):
        raise Invalid("Setiap jawaban harus angka 1, 2, 3 atau 4.", code="invalid_answers",
                      field="answers")
    return dict(zip(CODES, values))


def compute(responses: list[dict[str, int]]) -> IkmResult:
    """The figures of a set of responses, each a full answer sheet keyed U1..U9."""
    count = len(responses)
    if count == 0:
        return IkmResult(0, [UnsurScore(c, NAMES[c], Fraction(0)) for c in CODES],
                         None, None, None, [])
    scores = [UnsurScore(code, NAMES[code], Fraction(sum(r[code] for r in responses), count))
              for code in CODES]
    index = sum((s.nrr for s in scores), Fraction(0)) / len(CODES)  # sum of NRR x 1/9
    figure = round(index * 25, 2)  # Fraction rounds exactly: no binary-float surprises
    grade, label = grade_of(figure)
    low = min(s.nrr for s in scores)
    return IkmResult(count, scores, float(figure), grade, label,
                     [s.code for s in scores if s.nrr == low])


def grade_of(figure) -> tuple[str, str]:
    """The grade of a shown figure (two decimals) on 25-100."""
    value = Fraction(figure).limit_denominator(100)
    for lowest, grade, label in GRADES:
        if value >= lowest:
            return grade, label
    return GRADES[-1][1], GRADES[-1][2]


def sample_size(population: int) -> int:
    """Krejcie and Morgan (1970): respondents needed for `population` people served in
    the period, at 95 % confidence and a 5 % margin."""
    if population <= 0:
        return 0
    chi2, p, d = 3.841, 0.5, 0.05
    size = chi2 * population * p * (1 - p) / (d * d * (population - 1) + chi2 * p * (1 - p))
    return min(population, math.floor(size + 0.5))


def sample_enough(respondents: int, population: int) -> bool:
    return respondents >= sample_size(population)
