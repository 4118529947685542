"""The "Laporan Hasil SKM" of a hall over a period: an A4 PDF drawn with reportlab from
`app.domain.skm_report.Report` (the figures, the respondent profile and the masked
suggestions). It lives beside the receipts because it reads the app's domain object;
`printers` stays the library of thermal tickets and receipts that knows nothing of the
app.

Fonts as on tickets: the PDF standard Helvetica when every character is in its WinAnsi
set, else DejaVu Sans (or reportlab's Vera) embedded, as `printers.pdf` does.
"""
import datetime as dt
import io
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from printers.pdf import fonts_for

from ..clock import to_local
from ..domain import ikm, skm_report
from ..domain.skm_report import decimal, whole

TITLE = "LAPORAN HASIL SURVEI KEPUASAN MASYARAKAT (SKM)"
INK = colors.HexColor("#1c2430")
MUTED = colors.HexColor("#5b6675")
LINE = colors.HexColor("#9aa4b1")
HEAD = colors.HexColor("#e8eef6")
WEAK = colors.HexColor("#fde2dd")
GRADE_SCALE = ("Mutu: A Sangat Baik 88,31-100,00 · B Baik 76,61-88,30 · "
               "C Kurang Baik 65,00-76,60 · D Tidak Baik 25,00-64,99")


def _texts(rep: skm_report.Report) -> list[str]:
    return ([rep.site.name, rep.site.address] + [g.name for g in rep.services]
            + [g.agency for g in rep.services] + [g.name for g in rep.agencies]
            + [s.text for s in rep.suggestions])


class _Styles:
    def __init__(self, fonts):
        self.regular, self.bold, self.oblique = fonts
        base = ParagraphStyle("base", fontName=self.regular, fontSize=9.5, leading=12.5,
                              textColor=INK)
        self.body = base
        self.small = ParagraphStyle("small", base, fontSize=8, leading=10, textColor=MUTED)
        self.cell = ParagraphStyle("cell", base, fontSize=9, leading=11.5)
        self.cell_bold = ParagraphStyle("cellb", self.cell, fontName=self.bold)
        self.right = {False: ParagraphStyle("r", self.cell, alignment=TA_RIGHT),
                      True: ParagraphStyle("rb", self.cell_bold, alignment=TA_RIGHT)}
        self.centre = {False: ParagraphStyle("c", self.cell, alignment=TA_CENTER),
                       True: ParagraphStyle("cb", self.cell_bold, alignment=TA_CENTER)}
        self.title = ParagraphStyle("title", base, fontName=self.bold, fontSize=14,
                                    leading=18, alignment=TA_CENTER)
        self.subtitle = ParagraphStyle("subtitle", base, fontName=self.oblique, fontSize=9,
                                       textColor=MUTED, alignment=TA_CENTER)
        self.hall = ParagraphStyle("hall", base, fontName=self.bold, fontSize=12.5,
                                   leading=16, alignment=TA_CENTER, spaceBefore=4)
        self.h2 = ParagraphStyle("h2", base, fontName=self.bold, fontSize=11.5, leading=15,
                                 spaceBefore=10, spaceAfter=4)
        self.figure = ParagraphStyle("figure", base, fontName=self.bold, fontSize=15,
                                     leading=20)

    def p(self, text: str, style=None) -> Paragraph:
        return Paragraph(escape(text), style or self.body)

    def heading(self, text: str, en: str) -> Paragraph:
        return Paragraph(f'{escape(text)} <font name="{self.oblique}" size="8.5" '
                         f'color="#5b6675">{escape(en)}</font>', self.h2)


def _table(rows, widths, styles: _Styles, head_rows: int = 1, bold_rows=(), right=(),
           centre=(0,), extra=()) -> Table:
    """A grid of text cells; the head rows (repeated on a new page) and `bold_rows` in
    bold; the columns `right` (figures) aligned right, `centre` centred."""
    bold = set(range(head_rows)) | {r % len(rows) for r in bold_rows}
    right = {c % len(widths) for c in right}
    centre = {c % len(widths) for c in centre}

    def style(i, j):
        strong = i in bold
        if j in right:
            return styles.right[strong]
        if j in centre:
            return styles.centre[strong]
        return styles.cell_bold if strong else styles.cell
    cells = [[styles.p(str(c), style(i, j)) for j, c in enumerate(row)]
             for i, row in enumerate(rows)]
    table = Table(cells, colWidths=widths, repeatRows=head_rows)
    commands = [("GRID", (0, 0), (-1, -1), 0.5, LINE),
                ("BACKGROUND", (0, 0), (-1, head_rows - 1), HEAD),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("TOPPADDING", (0, 0), (-1, -1), 2.5), ("BOTTOMPADDING", (0, 0), (-1, -1), 3)]
    table.setStyle(TableStyle(commands + list(extra)))
    return table


def _overview(rep, s: _Styles) -> Table:
    sample = rep.sample
    rows = [["Unit pelayanan", rep.site.name],
            ["Periode survei", f"{rep.period} (WITA)"],
            ["Jumlah responden", f"{whole(rep.overall.responses)} orang"],
            ["Pengunjung dilayani", f"{whole(sample.served)} tiket selesai dilayani"],
            ["Sampel minimal", f"{whole(sample.needed)} responden (tabel Krejcie-Morgan)"],
            ["Kecukupan sampel", sample.sentence()]]
    cells = [[s.p(k, s.cell), s.p(v, s.cell_bold if k == "Kecukupan sampel" and not
                                  sample.enough else s.cell)] for k, v in rows]
    table = Table(cells, colWidths=[42 * mm, 128 * mm])
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"),
                               ("TEXTCOLOR", (0, 0), (0, -1), MUTED),
                               ("TOPPADDING", (0, 0), (-1, -1), 1.5),
                               ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5)]))
    return table


def _unsur_table(rep, s: _Styles) -> Table:
    result = rep.overall
    rows = [["No", "Unsur pelayanan", "NRR", "NRR tertimbang", "Mutu"]]
    weak_rows = []
    for number, unsur in enumerate(result.unsur, start=1):
        weighted = unsur.nrr / len(ikm.CODES)
        rows.append([str(number), f"{unsur.code}. {unsur.name}", decimal(unsur.nrr),
                     decimal(weighted, 3), skm_report.unsur_grade(unsur.nrr)])
        if unsur.code in result.weakest:
            weak_rows.append(number)
    index = sum(u.nrr for u in result.unsur) / len(ikm.CODES)
    rows.append(["", "Jumlah NRR tertimbang (IKM, skala 1-4)", "", decimal(index, 3), ""])
    rows.append(["", "IKM unit pelayanan (x 25)", "", decimal(result.ikm), result.grade])
    extra = [("BACKGROUND", (0, len(rows) - 2), (-1, -1), HEAD)]
    extra += [("BACKGROUND", (0, n), (-1, n), WEAK) for n in weak_rows]
    return _table(rows, [10 * mm, 88 * mm, 20 * mm, 30 * mm, 22 * mm], s,
                  bold_rows=(-2, -1), right=(2, 3), centre=(0, 4), extra=extra)


def _result_box(rep, s: _Styles) -> Table:
    r = rep.overall
    figure = Paragraph(f"Nilai IKM: {decimal(r.ikm)}", s.figure)
    grade = Paragraph(f"Mutu pelayanan: {r.grade} ({escape(r.grade_label)})", s.figure)
    weakest = "; ".join(f"{u.code} {u.name} (NRR {decimal(u.nrr)})" for u in rep.weakest)
    rows = [[figure], [grade],
            [s.p(f"Prioritas perbaikan: {weakest}", s.cell_bold)],
            [s.p("Unsur dengan nilai terendah, untuk rencana tindak lanjut.", s.small)]]
    box = Table(rows, colWidths=[170 * mm])
    box.setStyle(TableStyle([("BOX", (0, 0), (-1, -1), 1.2, INK),
                             ("LEFTPADDING", (0, 0), (-1, -1), 8),
                             ("TOPPADDING", (0, 0), (-1, 0), 6),
                             ("BOTTOMPADDING", (0, -1), (-1, -1), 6)]))
    return box


def _groups_table(groups, s: _Styles, with_agency: bool) -> Table:
    head = ["No", "Layanan", "Instansi"] if with_agency else ["No", "Instansi"]
    rows = [head + ["Responden", "IKM", "Mutu"]]
    for number, g in enumerate(groups, start=1):
        names = [g.name, g.agency] if with_agency else [g.name]
        rows.append([str(number), *names, whole(g.responses), decimal(g.result.ikm),
                     f"{g.result.grade} ({g.result.grade_label})"])
    widths = ([10 * mm, 50 * mm, 46 * mm] if with_agency else [10 * mm, 96 * mm])
    widths += [22 * mm, 16 * mm, 26 * mm]
    return _table(rows, widths, s, right=(-3, -2))


def _profile_tables(rep, s: _Styles) -> Table:
    total = rep.overall.responses or 1
    parts = []
    for key, rows in rep.profile.items():
        body = [[skm_report.PROFILE_TITLES[key], "Jumlah", "%"]]
        body += [[label, whole(n), decimal(100 * n / total, 1)] for label, n in rows]
        parts.append(_table(body, [44 * mm, 18 * mm, 18 * mm], s, right=(1, 2), centre=()))
    grid = Table([[parts[0], parts[1]], [parts[2], parts[3]]],
                 colWidths=[85 * mm, 85 * mm])
    grid.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"),
                              ("LEFTPADDING", (0, 0), (-1, -1), 0),
                              ("BOTTOMPADDING", (0, 0), (-1, -1), 6)]))
    return grid


def _suggestions(rep, s: _Styles) -> list:
    if not rep.suggestions:
        return [s.p("Tidak ada saran atau masukan pada periode ini.")]
    rows = [["No", "Tanggal", "Saran dan masukan"]]
    for number, item in enumerate(rep.suggestions, start=1):
        rows.append([str(number), skm_report.day_text(item.day), item.text])
    return [_table(rows, [10 * mm, 36 * mm, 124 * mm], s)]


def report_pdf(rep: skm_report.Report, generated_at: dt.datetime) -> bytes:
    """The report as A4 PDF bytes; `generated_at` is printed in WITA."""
    s = _Styles(fonts_for(_texts(rep)))
    local = to_local(generated_at)
    stamp = (f"Dibuat {skm_report.day_text(local.date())} pukul "
             f"{local.strftime('%H.%M')} WITA · Mini MPP Antrian · {rep.site.name}")
    story = [Paragraph(TITLE, s.title),
             s.p("Community satisfaction survey report (PermenPAN-RB 14/2017)", s.subtitle),
             s.p(rep.site.name, s.hall),
             s.p(rep.site.address, s.subtitle) if rep.site.address else Spacer(1, 2),
             Spacer(1, 6), _overview(rep, s)]
    if rep.overall.responses == 0:
        story += [Spacer(1, 10), s.p("Belum ada responden pada periode ini: belum ada nilai "
                                     "IKM yang dapat dilaporkan.", s.cell_bold)]
    else:
        story += [s.heading("1. Nilai per unsur pelayanan", "By element"),
                  _unsur_table(rep, s),
                  s.p("NRR = jumlah nilai unsur / jumlah responden; NRR tertimbang = NRR x "
                      "1/9 (ditulis 0,111); IKM unit = jumlah NRR tertimbang x 25, dua "
                      "desimal. " + GRADE_SCALE + ".", s.small),
                  Spacer(1, 8), KeepTogether([_result_box(rep, s)]),
                  s.heading("2. IKM per layanan", "By service"),
                  _groups_table(rep.services, s, with_agency=True),
                  s.heading("3. IKM per instansi", "By agency"),
                  _groups_table(rep.agencies, s, with_agency=False),
                  s.heading("4. Profil responden", "Respondents"),
                  _profile_tables(rep, s)]
    story += [s.heading("5. Saran dan masukan" if rep.overall.responses else
                        "Saran dan masukan", "Suggestions"),
              s.p("Terbaru lebih dahulu. Nomor NIK dan nomor telepon disamarkan.", s.small),
              Spacer(1, 3), *_suggestions(rep, s)]

    def footer(canvas, doc):
        canvas.saveState()
        canvas.setFont(s.regular, 7.5)
        canvas.setFillColor(MUTED)
        canvas.drawString(20 * mm, 10 * mm, stamp)
        canvas.drawRightString(A4[0] - 20 * mm, 10 * mm, f"Halaman {doc.page}")
        canvas.restoreState()

    out = io.BytesIO()
    doc = SimpleDocTemplate(out, pagesize=A4, leftMargin=20 * mm, rightMargin=20 * mm,
                            topMargin=16 * mm, bottomMargin=18 * mm,
                            title=f"Laporan Hasil SKM {rep.site.name} {rep.period}",
                            author="Mini MPP Antrian", subject=TITLE)
    doc.build(story, onFirstPage=footer, onLaterPages=footer)
    return out.getvalue()
