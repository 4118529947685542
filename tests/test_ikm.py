"""SKM/IKM per PermenPAN-RB 14/2017: exact ninths, two decimals, graded from the shown
figure; unsur keyed by code; the Krejcie-Morgan sample table."""
import pytest

from app.domain import ikm
from app.errors import Invalid


def sheet(*values):
    return dict(zip(ikm.CODES, values))


def test_a_perfect_score_is_100_not_99_9():
    result = ikm.compute([sheet(4, 4, 4, 4, 4, 4, 4, 4, 4)])
    assert (result.ikm, result.grade, result.grade_label) == (100.0, "A", "Sangat Baik")


def test_the_lowest_score_is_25():
    result = ikm.compute([sheet(1, 1, 1, 1, 1, 1, 1, 1, 1)] * 3)
    assert (result.responses, result.ikm, result.grade) == (3, 25.0, "D")


def test_nrr_per_unsur_and_the_weakest():
    result = ikm.compute([sheet(4, 3, 2, 4, 3, 3, 4, 2, 3), sheet(3, 3, 2, 4, 4, 3, 4, 3, 3)])
    nrr = {u.code: float(u.nrr) for u in result.unsur}
    assert nrr == {"U1": 3.5, "U2": 3.0, "U3": 2.0, "U4": 4.0, "U5": 3.5, "U6": 3.0,
                   "U7": 4.0, "U8": 2.5, "U9": 3.0}
    # (3.5+3+2+4+3.5+3+4+2.5+3) / 9 x 25 = 28.5 / 9 x 25 = 79.1666... -> 79.17, B
    assert (result.ikm, result.grade, result.grade_label) == (79.17, "B", "Baik")
    assert result.weakest == ["U3"]
    assert result.as_dict()["unsur"][7] == {"code": "U8",
                                            "name": "Penanganan pengaduan, saran dan masukan",
                                            "nrr": 2.5}


@pytest.mark.parametrize("figure, grade", [
    (88.31, "A"), (88.30, "B"), (76.61, "B"), (76.60, "C"), (65.00, "C"), (64.99, "D"),
    (25.00, "D")])
def test_grade_boundaries(figure, grade):
    assert ikm.grade_of(figure)[0] == grade


def test_no_answers_no_figure():
    result = ikm.compute([])
    assert (result.responses, result.ikm, result.grade, result.weakest) == (0, None, None, [])


def test_answers_from_the_api_are_checked():
    assert ikm.answers_from_list([4, 3, 2, 4, 3, 3, 4, 2, 3])["U8"] == 2
    for bad in ([4] * 8, [4] * 10, [4] * 8 + [5], [4] * 8 + [0], [4] * 8 + ["4"],
                [4] * 8 + [True], "444444444", None):
        with pytest.raises(Invalid):
            ikm.answers_from_list(bad)


@pytest.mark.parametrize("population, sample", [
    (100, 80), (500, 217), (1000, 278), (2000, 322), (10_000, 370), (40_000, 380),
    (10, 10), (0, 0)])
def test_krejcie_morgan(population, sample):
    assert ikm.sample_size(population) == sample


def test_sample_enough():
    assert ikm.sample_enough(278, 1000) and not ikm.sample_enough(277, 1000)
