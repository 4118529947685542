"""The "Laporan Bulanan Pelayanan": one month of a hall (or of the whole kabupaten) as an
A4 PDF, drawn with reportlab from the dict of `app.domain.reports.summary` and a few
labels. No Flask: the view passes the figures in and gets bytes back.

What it shows: the headline figures, two charts (arrivals and served per day, the mean
wait per service; reportlab.graphics, nothing to install), the tables per hall (the
kabupaten) or per counter (a hall), per service, the bookings and the cases, and which
halls' data was not complete when the report was made. Numbers are written the
Indonesian way (1.234; 28,5) and times in WITA.

Fonts as on tickets and receipts: the PDF standard Helvetica when every character is in
its WinAnsi set, else DejaVu Sans (or reportlab's Vera) embedded (`printers.pdf`).
"""
import datetime as dt
import io
from dataclasses import dataclass
from xml.sax.saxutils import escape

from reportlab.graphics.charts.barcharts import HorizontalBarChart, VerticalBarChart
from reportlab.graphics.charts.legends import Legend
from reportlab.graphics.shapes import Drawing, String
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    CondPageBreak,
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from printers.pdf import fonts_for

from ..clock import to_local
from ..domain.calendar import MONTH_NAMES

TITLE = "LAPORAN BULANAN PELAYANAN"
ORGANISATION = "Mal Pelayanan Publik Kabupaten Kutai Kartanegara"
KABUPATEN = "Seluruh lokasi (Kabupaten Kutai Kartanegara)"
NONE = "–"  # en dash: no figure (nothing to measure)

INK = colors.HexColor("#1c2430")
MUTED = colors.HexColor("#5b6675")
LINE = colors.HexColor("#9aa4b1")
HEAD = colors.HexColor("#e8eef6")
WARN = colors.HexColor("#fdf1d8")
ARRIVED = colors.HexColor("#9ec5e8")  # light and dark: still apart on a grey printer
SERVED = colors.HexColor("#1f5f99")
WAIT = colors.HexColor("#2f7f6f")

PAGE_W, PAGE_H = A4
MARGIN = 16 * mm
WIDTH = PAGE_W - 2 * MARGIN


@dataclass(frozen=True)
class Labels:
    """What the figures do not say about themselves."""
    hall_name: str | None  # None: the whole kabupaten
    month: dt.date  # any day of the month
    generated_at: dt.datetime  # aware
    agency_name: str | None = None  # an officer's report: their agency only


# --- words and numbers -----------------------------------------------------------------

def month_name(day: dt.date) -> str:
    return f"{MONTH_NAMES[day.month - 1]} {day.year}"


def wita(moment: dt.datetime) -> str:
    local = to_local(moment)
    return f"{local.day} {MONTH_NAMES[local.month - 1]} {local.year} pukul {local:%H.%M} WITA"


def whole(n) -> str:
    return NONE if n is None else f"{int(n):,}".replace(",", ".")


def decimal(x, places: int = 1) -> str:
    if x is None:
        return NONE
    return f"{float(x):,.{places}f}".replace(",", "_").replace(".", ",").replace("_", ".")


def percent(x) -> str:
    return NONE if x is None else f"{decimal(x)}%"


def _texts(report: dict, labels: Labels) -> list[str]:
    out = [labels.hall_name or "", labels.agency_name or ""]
    for key in ("by_site", "by_service", "by_counter"):
        out += [str(row.get("name") or "") for row in report.get(key, [])]
    out += [row["name"] for row in report["cases"]["days_to_ready"]]
    out += [row["name"] for row in report["incomplete_sites"]]
    return out


# --- styles and tables -----------------------------------------------------------------

class _Styles:
    def __init__(self, fonts: tuple[str, str, str]):
        self.regular, self.bold, self.oblique = fonts
        base = ParagraphStyle("base", fontName=self.regular, fontSize=9.5, leading=12.5,
                              textColor=INK)
        self.body = base
        self.small = ParagraphStyle("small", base, fontSize=8, leading=10, textColor=MUTED)
        self.cell = ParagraphStyle("cell", base, fontSize=8.5, leading=10.5)
        self.cell_bold = ParagraphStyle("cellb", self.cell, fontName=self.bold)
        self.right = ParagraphStyle("right", self.cell, alignment=TA_RIGHT)
        self.right_bold = ParagraphStyle("rightb", self.right, fontName=self.bold)
        self.title = ParagraphStyle("title", base, fontName=self.bold, fontSize=15,
                                    leading=19, alignment=TA_CENTER)
        self.centre = ParagraphStyle("centre", base, alignment=TA_CENTER)
        self.place = ParagraphStyle("place", base, fontName=self.bold, fontSize=12.5,
                                    leading=16, alignment=TA_CENTER, spaceBefore=3)
        self.h2 = ParagraphStyle("h2", base, fontName=self.bold, fontSize=11.5, leading=15,
                                 spaceBefore=9, spaceAfter=4)

    def p(self, text: str, style=None) -> Paragraph:
        return Paragraph(escape(str(text)), style or self.body)


def _table(s: _Styles, rows: list[list], widths: list[float], right_from: int = 1,
           total_row: bool = False, extra=()) -> Table:
    """A grid of text: the first row a repeated head in bold, the columns from
    `right_from` on (figures) aligned right; `total_row` sets the last row in bold."""
    last = len(rows) - 1

    def style(i, j):
        strong = i == 0 or (total_row and i == last)
        if j >= right_from:
            return s.right_bold if strong else s.right
        return s.cell_bold if strong else s.cell
    cells = [[s.p(c, style(i, j)) for j, c in enumerate(row)] for i, row in enumerate(rows)]
    table = Table(cells, colWidths=widths, repeatRows=1)
    commands = [("GRID", (0, 0), (-1, -1), 0.5, LINE),
                ("BACKGROUND", (0, 0), (-1, 0), HEAD),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("TOPPADDING", (0, 0), (-1, -1), 2), ("BOTTOMPADDING", (0, 0), (-1, -1), 2.5)]
    if total_row:
        commands.append(("BACKGROUND", (0, last), (-1, last), HEAD))
    table.setStyle(TableStyle(commands + list(extra)))
    return table


def _columns(first: float, n: int) -> list[float]:
    """The first column `first` wide, the other n - 1 sharing the rest."""
    return [first] + [(WIDTH - first) / (n - 1)] * (n - 1)


# --- the parts -------------------------------------------------------------------------

def _header(report: dict, labels: Labels, s: _Styles) -> list:
    first = dt.date.fromisoformat(report["period"]["from"])
    last = dt.date.fromisoformat(report["period"]["to"])
    parts = [s.p(TITLE, s.title), s.p(ORGANISATION, s.centre),
             s.p(labels.hall_name or KABUPATEN, s.place)]
    if labels.agency_name:
        parts.append(s.p(f"Instansi: {labels.agency_name}", s.centre))
    parts.append(s.p(f"Bulan {month_name(labels.month)} "
                     f"({first.day}-{last.day} {month_name(last)})", s.centre))
    parts.append(s.p(f"Dibuat {wita(labels.generated_at)}", ParagraphStyle(
        "made", s.small, alignment=TA_CENTER)))
    return parts + [Spacer(1, 4 * mm)]


def _incomplete(report: dict, s: _Styles) -> list:
    lagging = report["incomplete_sites"]
    if not lagging:
        return []
    rows = [["Lokasi", "Data masuk sampai"]]
    for row in lagging:
        until = row.get("data_until")
        rows.append([row["name"], wita(dt.datetime.fromisoformat(until)) if until
                     else "belum pernah terhubung"])
    note = s.p("Data lokasi berikut belum lengkap sampai akhir bulan (tautan ke MPP Induk "
               "terputus atau belum terkirim); angkanya masih dapat bertambah.", s.small)
    return [KeepTogether([s.p("Data belum lengkap", s.h2), note, Spacer(1, 2 * mm),
                          _table(s, rows, [WIDTH * 0.55, WIDTH * 0.45], right_from=2,
                                 extra=[("BACKGROUND", (0, 1), (-1, -1), WARN)])])]


def _headline(report: dict, s: _Styles) -> list:
    wait, service = report["wait_minutes"], report["service_minutes"]
    rows = [
        ["Ukuran", "Nilai"],
        ["Datang (tiket diambil)", whole(report["arrived"])],
        ["Dilayani", whole(report["served"])],
        ["Tidak hadir", f"{whole(report['no_show'])} ({percent(report['no_show_rate'])})"],
        ["Dialihkan ke layanan lain", whole(report["transferred"])],
        ["Dibatalkan", whole(report["cancelled"])],
        ["Datang dengan janji temu (booking)", whole(report["appointments"])],
        ["Waktu tunggu rata-rata / median / p90 / maks (menit)",
         " / ".join([decimal(wait["mean"]), whole(wait["p50"]), whole(wait["p90"]),
                     decimal(wait["max"])])],
        ["Lama layanan rata-rata / p90 (menit)",
         f"{decimal(service['mean'])} / {whole(service['p90'])}"],
        ["Dipanggil dalam target waktu tunggu", percent(report["within_target_pct"])],
    ]
    return [s.p("Ringkasan", s.h2), _table(s, rows, [WIDTH * 0.62, WIDTH * 0.38])]


def _days(report: dict) -> list[tuple[dt.date, int, int]]:
    first = dt.date.fromisoformat(report["period"]["from"])
    last = dt.date.fromisoformat(report["period"]["to"])
    by_day = {row["key"]: row for row in report["by_day"]}
    out, day = [], first
    while day <= last:
        row = by_day.get(day.isoformat(), {})
        out.append((day, int(row.get("arrived") or 0), int(row.get("served") or 0)))
        day += dt.timedelta(days=1)
    return out


def _value_axis(chart, top: float) -> None:
    """A round upper bound and step, so the grid lines fall on whole numbers."""
    step = 1
    for candidate in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 2500, 5000,
                      10000, 20000, 25000, 50000, 100000):
        step = candidate
        if top / candidate <= 6:
            break
    chart.valueAxis.valueMin = 0
    chart.valueAxis.valueMax = max(step, -(-top // step) * step)
    chart.valueAxis.valueStep = step
    chart.valueAxis.labelTextFormat = lambda v: whole(v)


def _per_day_chart(report: dict, s: _Styles) -> list:
    days = _days(report)
    height = 56 * mm
    drawing = Drawing(WIDTH, height)
    chart = VerticalBarChart()
    chart.x, chart.y = 12 * mm, 10 * mm
    chart.width, chart.height = WIDTH - 14 * mm, height - 20 * mm
    chart.data = [[a for _d, a, _s in days], [v for _d, _a, v in days]]
    chart.categoryAxis.categoryNames = [str(d.day) for d, _a, _s in days]
    chart.categoryAxis.labels.fontName = s.regular
    chart.categoryAxis.labels.fontSize = 6.5
    chart.categoryAxis.labels.dy = -2
    chart.valueAxis.labels.fontName = s.regular
    chart.valueAxis.labels.fontSize = 7
    chart.valueAxis.visibleGrid = True
    chart.valueAxis.gridStrokeColor = colors.HexColor("#dde3ea")
    chart.valueAxis.gridStrokeWidth = 0.4
    _value_axis(chart, max([a for _d, a, _s in days] + [1]))
    chart.bars[0].fillColor, chart.bars[1].fillColor = ARRIVED, SERVED
    chart.bars.strokeWidth = 0
    chart.groupSpacing, chart.barSpacing = 2, 0
    drawing.add(chart)
    legend = Legend()
    legend.x, legend.y = WIDTH - 52 * mm, height - 2 * mm
    legend.alignment = "right"
    legend.fontName, legend.fontSize = s.regular, 7.5
    legend.columnMaximum, legend.deltax = 1, 70
    legend.boxAnchor = "nw"
    legend.dxTextSpace, legend.dx, legend.dy = 3, 7, 7
    legend.colorNamePairs = [(ARRIVED, "Datang"), (SERVED, "Dilayani")]
    drawing.add(legend)
    drawing.add(String(12 * mm, 2.5 * mm, "Tanggal", fontName=s.oblique, fontSize=7,
                       fillColor=MUTED))
    return [KeepTogether([s.p("Datang dan dilayani per hari", s.h2), drawing])]


def _wait_chart(report: dict, s: _Styles, limit: int = 25) -> list:
    rows = sorted((r for r in report["by_service"] if r["wait_minutes"]["mean"] is not None),
                  key=lambda r: (-r["wait_minutes"]["mean"], r["name"]))[:limit]
    if not rows:
        return []
    bar = 4.6 * mm
    label_w = 62 * mm
    height = len(rows) * bar + 12 * mm
    drawing = Drawing(WIDTH, height)
    chart = HorizontalBarChart()
    chart.x, chart.y = label_w, 8 * mm
    chart.width, chart.height = WIDTH - label_w - 10 * mm, len(rows) * bar
    rows = rows[::-1]  # the chart draws bottom up: the longest wait on top
    chart.data = [[r["wait_minutes"]["mean"] for r in rows]]
    chart.categoryAxis.categoryNames = [_short(r["name"], 42) for r in rows]
    chart.categoryAxis.labels.fontName = s.regular
    chart.categoryAxis.labels.fontSize = 7
    chart.categoryAxis.labels.boxAnchor = "e"
    chart.categoryAxis.labels.dx = -3
    chart.valueAxis.labels.fontName = s.regular
    chart.valueAxis.labels.fontSize = 7
    chart.valueAxis.visibleGrid = True
    chart.valueAxis.gridStrokeColor = colors.HexColor("#dde3ea")
    chart.valueAxis.gridStrokeWidth = 0.4
    _value_axis(chart, max(r["wait_minutes"]["mean"] for r in rows))
    chart.bars[0].fillColor = WAIT
    chart.bars.strokeWidth = 0
    chart.barLabelFormat = lambda v: decimal(v)
    chart.barLabels.fontName = s.regular
    chart.barLabels.fontSize = 6.5
    chart.barLabels.boxAnchor = "w"
    chart.barLabels.dx = 2
    drawing.add(chart)
    drawing.add(String(chart.x, 1.5 * mm, "menit, rata-rata dari datang sampai dipanggil",
                       fontName=s.oblique, fontSize=7, fillColor=MUTED))
    return [KeepTogether([s.p("Waktu tunggu rata-rata per layanan", s.h2), drawing])]


def _short(text: str, n: int) -> str:
    return text if len(text) <= n else text[:n - 1].rstrip() + "…"


def _per_site(report: dict, s: _Styles) -> list:
    rows = [["Lokasi", "Datang", "Dilayani", "Tidak hadir", "Tunggu rata-rata (mnt)",
             "Tunggu p90 (mnt)", "Dalam target"]]
    for r in report["by_site"]:
        rows.append([r["name"], whole(r["arrived"]), whole(r["served"]),
                     percent(r["no_show_rate"]), decimal(r["wait_minutes"]["mean"]),
                     whole(r["wait_minutes"]["p90"]), percent(r["within_target_pct"])])
    rows.append(["Jumlah", whole(report["arrived"]), whole(report["served"]),
                 percent(report["no_show_rate"]), decimal(report["wait_minutes"]["mean"]),
                 whole(report["wait_minutes"]["p90"]), percent(report["within_target_pct"])])
    return [s.p("Per lokasi", s.h2), _table(s, rows, _columns(58 * mm, 7), total_row=True)]


def _per_service(report: dict, s: _Styles) -> list:
    rows = [["Layanan", "Datang", "Dilayani", "Dialihkan keluar", "Tunggu rata-rata (mnt)",
             "Layanan rata-rata (mnt)", "Dalam target"]]
    for r in report["by_service"]:
        rows.append([r["name"], whole(r["arrived"]), whole(r["served"]),
                     whole(r["transferred"]), decimal(r["wait_minutes"]["mean"]),
                     decimal(r["service_minutes"]["mean"]), percent(r["within_target_pct"])])
    if len(rows) == 1:
        rows.append(["Tidak ada kunjungan bulan ini"] + [""] * 6)
    return [s.p("Per layanan", s.h2), _table(s, rows, _columns(58 * mm, 7))]


def _per_counter(report: dict, s: _Styles) -> list:
    rows = [["Loket", "Datang", "Dilayani", "Tidak hadir", "Tunggu rata-rata (mnt)",
             "Layanan rata-rata (mnt)", "Layanan p90 (mnt)"]]
    for r in report["by_counter"]:
        rows.append([r["key"].split("/", 1)[-1], whole(r["arrived"]), whole(r["served"]),
                     whole(r["no_show"]), decimal(r["wait_minutes"]["mean"]),
                     decimal(r["service_minutes"]["mean"]), whole(r["service_minutes"]["p90"])])
    if len(rows) == 1:
        rows.append(["Belum ada tiket yang ditangani loket"] + [""] * 6)
    return [s.p("Per loket", s.h2), _table(s, rows, _columns(40 * mm, 7))]


def _bookings(report: dict, s: _Styles) -> list:
    b = report["bookings"]
    rows = [["Janji temu (booking) untuk hari di bulan ini", "Jumlah"],
            ["Dibuat", whole(b["made"])], ["Check-in di kios", whole(b["checked_in"])],
            ["Tidak hadir", whole(b["no_show"])], ["Dibatalkan", whole(b["cancelled"])],
            ["Masih terjadwal", whole(b["booked"])],
            ["Rata-rata dipesan sebelumnya (hari)", decimal(b["lead_days_mean"])]]
    return [KeepTogether([s.p("Janji temu", s.h2),
                          _table(s, rows, [WIDTH * 0.62, WIDTH * 0.38])])]


def _cases(report: dict, s: _Styles) -> list:
    c = report["cases"]
    rows = [["Berkas diterima di bulan ini, menurut statusnya sekarang", "Jumlah"],
            ["Diterima", whole(c["opened"])], ["Diteruskan ke instansi", whole(c["forwarded"])],
            ["Dalam proses", whole(c["in_process"])],
            ["Perlu perbaikan", whole(c["needs_fix"])],
            ["Siap diambil", whole(c["ready"])], ["Sudah diambil", whole(c["picked_up"])]]
    parts = [KeepTogether([s.p("Berkas", s.h2),
                           _table(s, rows, [WIDTH * 0.62, WIDTH * 0.38])])]
    if c["days_to_ready"]:  # its own table: may start on the next page, head repeated
        per = [["Instansi", "Berkas siap", "Median hari sampai siap"]]
        per += [[r["name"], whole(r["cases"]), decimal(r["median_days"])]
                for r in c["days_to_ready"]]
        parts += [Spacer(1, 3 * mm), _table(s, per, [WIDTH * 0.62, WIDTH * 0.19,
                                                     WIDTH * 0.19])]
    return parts


# --- the document ----------------------------------------------------------------------

def _numbered_canvas(footer: str, font: str):
    """A canvas that holds its pages back until the end, so each can say "Halaman i
    dari N"."""
    class NumberedCanvas(Canvas):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._pages = []

        def showPage(self):  # noqa: N802 - reportlab's name
            self._pages.append(dict(self.__dict__))
            self._startPage()

        def save(self):
            total = len(self._pages)
            for number, state in enumerate(self._pages, start=1):
                self.__dict__.update(state)
                self.setFont(font, 7.5)
                self.setFillColor(MUTED)
                self.setStrokeColor(LINE)
                self.setLineWidth(0.5)
                self.line(MARGIN, 12 * mm, PAGE_W - MARGIN, 12 * mm)
                self.drawString(MARGIN, 8.5 * mm, footer)
                self.drawRightString(PAGE_W - MARGIN, 8.5 * mm,
                                     f"Halaman {number} dari {total}")
                super().showPage()
            super().save()
    return NumberedCanvas


def render(report: dict, labels: Labels) -> bytes:
    """The month's report as PDF bytes; `report` is `reports.summary(...)`."""
    s = _Styles(fonts_for(_texts(report, labels)))
    place = labels.hall_name or "Kabupaten Kutai Kartanegara"
    story = _header(report, labels, s) + _incomplete(report, s) + _headline(report, s)
    story += _per_day_chart(report, s) + _wait_chart(report, s)
    if labels.hall_name is None:
        story += [CondPageBreak(40 * mm)] + _per_site(report, s)
    story += [CondPageBreak(40 * mm)] + _per_service(report, s)
    if labels.hall_name is not None:
        story += [CondPageBreak(40 * mm)] + _per_counter(report, s)
    story += _bookings(report, s) + _cases(report, s)
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer, pagesize=A4, leftMargin=MARGIN, rightMargin=MARGIN, topMargin=14 * mm,
        bottomMargin=18 * mm, title=f"Laporan Bulanan Pelayanan {place} "
        f"{month_name(labels.month)}", author="Mini MPP Antrian", invariant=1,
        pageCompression=1)
    doc.build(story, canvasmaker=_numbered_canvas(
        f"Laporan Bulanan Pelayanan · {place} · {month_name(labels.month)}", s.regular))
    return buffer.getvalue()
