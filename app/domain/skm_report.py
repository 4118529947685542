"""What the SKM result of a hall over a period says (the "Laporan Hasil SKM" and the
public IKM page): the index of the hall, of each service and of each agency; the
respondent profile; the suggestions; and whether the sample is large enough for the
visitors served in the period (Krejcie-Morgan).

Only figures and counts are computed from the sheets: the figures read the answers
column alone, the profile is counted per choice, and a suggestion leaves this module
with anything that looks like a NIK or a phone number masked. The public page takes
`published` (no profile, no suggestions); the staff's report takes `report`.
"""
import datetime as dt
import re
from dataclasses import dataclass
from fractions import Fraction

from ..models import Agency, Service, Site, SurveyResponse
from . import calendar, ikm, queueing, survey

NOT_GIVEN = "Tidak diisi"
PROFILE_TITLES = {"age_band": "Umur", "sex": "Jenis kelamin", "education": "Pendidikan",
                  "occupation": "Pekerjaan"}
PROFILE_LABELS = {"age_band": {"<20": "< 20 tahun", "60+": "60 tahun ke atas"},
                  "sex": {"L": "Laki-laki", "P": "Perempuan"}}


# --- numbers the Indonesian way -----------------------------------------------------------

def decimal(value, places: int = 2) -> str:
    """79.1666 -> '79,17'; 1234.5 -> '1.234,50' (Indonesian separators). A Fraction is
    rounded exactly first, as `ikm.compute` rounds the figure."""
    if isinstance(value, Fraction):
        value = round(value, places)
    text = f"{float(value):,.{places}f}"
    return text.replace(",", " ").replace(".", ",").replace(" ", ".")


def whole(value: int) -> str:
    """1234 -> '1.234'."""
    return f"{int(value):,}".replace(",", ".")


def day_text(day: dt.date) -> str:
    """1 Januari 2026."""
    return f"{day.day} {calendar.MONTH_NAMES[day.month - 1]} {day.year}"


def period_text(first: dt.date, last: dt.date) -> str:
    """1 Januari 2026 s.d. 30 November 2026 (WITA days)."""
    if first == last:
        return day_text(first)
    return f"{day_text(first)} s.d. {day_text(last)}"


# --- the figures ----------------------------------------------------------------------------

def _answered(site: Site, first: dt.date, last: dt.date, *columns):
    return (SurveyResponse.select(*columns)
            .where((SurveyResponse.site == site) & (SurveyResponse.day >= first)
                   & (SurveyResponse.day <= last)))


@dataclass(frozen=True)
class Group:
    """The figures of one service or one agency."""
    code: str
    name: str
    result: ikm.IkmResult
    agency: str = ""  # a service's agency name

    @property
    def responses(self) -> int:
        return self.result.responses


def by_service(site: Site, first: dt.date, last: dt.date) -> list[Group]:
    """Each service of the hall that has answers in the period, by name."""
    sheets: dict[int, list[dict]] = {}
    for row in _answered(site, first, last, SurveyResponse.service,
                         SurveyResponse.answers).tuples():
        sheets.setdefault(row[0], []).append(row[1])
    if not sheets:
        return []
    services = {s.id: s for s in Service.select(Service, Agency).join(Agency)
                .where(Service.id.in_(list(sheets)))}
    groups = [Group(services[sid].code, services[sid].name, ikm.compute(answers),
                    services[sid].agency.name) for sid, answers in sheets.items()]
    return sorted(groups, key=lambda g: g.name)


def by_agency(site: Site, first: dt.date, last: dt.date) -> list[Group]:
    """Each agency whose services have answers at the hall in the period, by name."""
    sheets: dict[int, list[dict]] = {}
    for row in _answered(site, first, last, Service.agency, SurveyResponse.answers
                         ).join(Service).tuples():
        sheets.setdefault(row[0], []).append(row[1])
    if not sheets:
        return []
    agencies = {a.id: a for a in Agency.select().where(Agency.id.in_(list(sheets)))}
    groups = [Group(agencies[aid].code, agencies[aid].name, ikm.compute(answers))
              for aid, answers in sheets.items()]
    return sorted(groups, key=lambda g: g.name)


def unsur_grade(nrr: Fraction) -> str:
    """An unsur's "mutu": the grade of its NRR converted to 25-100."""
    return ikm.grade_of(round(nrr * 25, 2))[0]


# --- the respondents ------------------------------------------------------------------------

def profile_label(key: str, choice: str) -> str:
    return PROFILE_LABELS.get(key, {}).get(choice, choice)


def profile_counts(site: Site, first: dt.date, last: dt.date
                   ) -> dict[str, list[tuple[str, int]]]:
    """For each profile question, (label, respondents) per choice in the form's order,
    then "Tidak diisi" for those who left it (or the whole profile) blank."""
    questions = survey.PROFILE_CHOICES
    counts = {key: dict.fromkeys(choices, 0) for key, choices in questions.items()}
    blank = dict.fromkeys(questions, 0)
    for (profile,) in _answered(site, first, last, SurveyResponse.profile).tuples():
        profile = profile if isinstance(profile, dict) else {}
        for key in questions:
            choice = profile.get(key)
            if choice in counts[key]:
                counts[key][choice] += 1
            else:
                blank[key] += 1
    return {key: [(profile_label(key, c), n) for c, n in counts[key].items()]
            + [(NOT_GIVEN, blank[key])] for key in questions}


# --- the suggestions ------------------------------------------------------------------------

# A run of digits with single spaces, dots or dashes between them, maybe after a '+'.
_NUMBER_RUN = re.compile(r"\+?\d(?:[ .\-]?\d){7,}")


def _looks_personal(digits: str) -> bool:
    if len(digits) == 16:  # a NIK (or a KK number)
        return True
    if digits.startswith("08"):
        return 9 <= len(digits) <= 14
    if digits.startswith("628"):  # +62 8xx: the same number without its leading 0
        return 9 <= len(digits) - 1 <= 14
    return False


def _masked(digits: str) -> str:
    return "*" * (len(digits) - 4) + digits[-4:]


def _mask_run(run: str) -> str:
    """A run of digit groups: the whole, else from the left the longest groups that
    look personal ("6402124508900001 0812 3456 7890" is two numbers, both masked)."""
    groups = run.split(" ")
    out, i = [], 0
    while i < len(groups):
        for j in range(len(groups), i, -1):
            digits = re.sub(r"\D", "", "".join(groups[i:j]))
            if _looks_personal(digits):
                out.append(_masked(digits))
                i = j
                break
        else:
            out.append(groups[i])
            i += 1
    return " ".join(out)


def mask_numbers(text: str) -> str:
    """Anything that looks like a 16-digit NIK or an Indonesian mobile number (08xx,
    +628xx; 9-14 digits) becomes asterisks but for its last four digits."""
    return _NUMBER_RUN.sub(lambda match: _mask_run(match.group(0)), text)


@dataclass(frozen=True)
class Suggestion:
    day: dt.date
    text: str


def suggestions(site: Site, first: dt.date, last: dt.date) -> list[Suggestion]:
    """The non-empty suggestions of the period, newest first, with their day and
    personal numbers masked; nothing else of the sheet (no name, phone or ticket)."""
    rows = (_answered(site, first, last, SurveyResponse.day, SurveyResponse.comment)
            .where(SurveyResponse.comment != "")
            .order_by(SurveyResponse.created_at.desc(), SurveyResponse.id.desc()).tuples())
    return [Suggestion(day, mask_numbers(text)) for day, text in rows if text.strip()]


# --- the sample -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Sample:
    respondents: int
    served: int   # tickets served to the end in the period: the population
    needed: int   # Krejcie-Morgan

    @property
    def enough(self) -> bool:
        return self.respondents > 0 and self.respondents >= self.needed

    def sentence(self) -> str:
        if self.respondents == 0:
            return "Belum ada responden pada periode ini."
        if self.enough:
            return f"Jumlah responden memenuhi sampel minimal {whole(self.needed)}."
        return (f"Jumlah responden {whole(self.respondents)}: sampel belum memenuhi "
                f"(minimal {whole(self.needed)} responden).")


def sample(site: Site, first: dt.date, last: dt.date, respondents: int) -> Sample:
    served = queueing.served_between(site, first, last)
    return Sample(respondents, served, ikm.sample_size(served))


# --- the whole --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Published:
    """What anyone may read: figures and counts only."""
    site: Site
    first: dt.date
    last: dt.date
    overall: ikm.IkmResult
    services: list[Group]
    sample: Sample

    @property
    def period(self) -> str:
        return period_text(self.first, self.last)

    @property
    def weakest(self) -> list[ikm.UnsurScore]:
        """The unsur with the lowest NRR (several when tied): the follow-up plan's
        priority."""
        return [u for u in self.overall.unsur if u.code in self.overall.weakest]


@dataclass(frozen=True)
class Report(Published):
    """The staff's report adds the agencies, the respondent profile and the (masked)
    suggestions."""
    agencies: list[Group]
    profile: dict[str, list[tuple[str, int]]]
    suggestions: list[Suggestion]


def published(site: Site, first: dt.date, last: dt.date) -> Published:
    overall = survey.figures(site, first, last)
    return Published(site, first, last, overall, by_service(site, first, last),
                     sample(site, first, last, overall.responses))


def report(site: Site, first: dt.date, last: dt.date) -> Report:
    overall = survey.figures(site, first, last)
    return Report(site, first, last, overall, by_service(site, first, last),
                  sample(site, first, last, overall.responses),
                  by_agency(site, first, last), profile_counts(site, first, last),
                  suggestions(site, first, last))

