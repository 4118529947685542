"""PDF for a thermal roll: the page is as wide as the paper (58 or 80 mm) and as tall
as the content, so a browser or a driver prints it without scaling or blank paper.

Fonts: the PDF standard Helvetica when every character is in its Latin-1/WinAnsi set
(Indonesian is), so nothing is embedded and a ticket renders in about a millisecond;
when a name needs more, a TrueType font is embedded: DejaVu Sans from Debian's
fonts-dejavu, else Bitstream Vera (shipped inside reportlab, DejaVu's parent). Thermal
heads print black only, so the English second language is set in oblique, never grey.
The QR code is a 1-bit image, one pixel per module: crisp at any printer resolution.
"""
import io
import os
from functools import lru_cache

from PIL import Image
from reportlab import rl_config
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader, simpleSplit
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from .data import CaseReceipt, TicketPrint
from .layout import Block, receipt_blocks, ticket_blocks
from .qr import qr_matrix

# Binary (Flate) streams instead of Flate+ASCII85: a valid, smaller PDF, and reportlab's
# pure-Python ASCII85 encoder was a third of a ticket's render time. Process-wide, read
# by reportlab at render time; nothing here needs 7-bit-clean PDFs.
rl_config.useA85 = 0

WIDTHS = (58, 80)
FONT_DIRS = ["/usr/share/fonts/truetype/dejavu",
             os.path.join(os.path.dirname(pdfmetrics.__file__), "..", "fonts")]
FAMILIES = [  # (regular, bold, oblique) file names per family
    ("DejaVu", ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSans-Oblique.ttf")),
    ("Vera", ("Vera.ttf", "VeraBd.ttf", "VeraIt.ttf")),
]


STANDARD = ("Helvetica", "Helvetica-Bold", "Helvetica-Oblique")


def _beyond_cp1252(texts) -> bool:
    """Whether the standard PDF fonts (cp1252) cannot show every character."""
    try:
        "".join(texts).encode("cp1252")
    except UnicodeEncodeError:
        return True
    return False


def _block_texts(blocks: list[Block]):
    return (t for b in blocks for t in (b.text, b.en, b.value, *b.items) if b.kind != "qr")


def fonts_for(texts) -> tuple[str, str, str]:
    """(regular, bold, oblique): the standard fonts, or TrueType ones when a text needs
    characters beyond cp1252."""
    return unicode_fonts() if _beyond_cp1252(texts) else STANDARD


@lru_cache(maxsize=1)
def unicode_fonts() -> tuple[str, str, str]:
    """(regular, bold, oblique) TrueType font names, registered once per process."""
    for family, files in FAMILIES:
        for folder in FONT_DIRS:
            paths = [os.path.join(folder, name) for name in files]
            if all(os.path.exists(p) for p in paths):
                names = tuple(f"{family}-{style}" for style in ("R", "B", "I"))
                for name, path in zip(names, paths):
                    pdfmetrics.registerFont(TTFont(name, path))
                return names
    return STANDARD


def qr_image(data: str) -> Image.Image:
    matrix = qr_matrix(data)
    n = len(matrix)
    pixels = bytes(0 if dark else 255 for row in matrix for dark in row)
    return Image.frombytes("L", (n, n), pixels).convert("1")


def check_width(width_mm) -> int:
    if width_mm not in WIDTHS:
        raise ValueError(f"paper width must be one of {WIDTHS} mm")
    return int(width_mm)


class _Sheet:
    """Lays blocks out top to bottom: each block becomes (height, draw(canvas, top))."""

    def __init__(self, width_mm: int, fonts: tuple[str, str, str] = STANDARD):
        self.width = width_mm * mm
        self.margin = (3 if width_mm == 58 else 4) * mm
        self.content = self.width - 2 * self.margin
        self.narrow = width_mm == 58
        self.regular, self.bold, self.oblique = fonts
        self.parts = []

    # -- helpers ------------------------------------------------------------------
    def _lines(self, text, font, size, width=None):
        return simpleSplit(text, font, size, width or self.content) or [""]

    def _centered(self, lines, font, size, leading):
        def draw(c, top):
            c.setFont(font, size)
            for i, line in enumerate(lines):
                c.drawCentredString(self.width / 2, top - size * 0.85 - i * leading, line)
        return len(lines) * leading, draw

    def add(self, height, draw=None):
        self.parts.append((height, draw))

    def text(self, text, font, size, leading=None, gap=0.0):
        leading = leading or size * 1.2
        height, draw = self._centered(self._lines(text, font, size), font, size, leading)
        self.add(height + gap, draw)

    # -- blocks -------------------------------------------------------------------
    def block(self, b: Block):
        getattr(self, "_" + b.kind)(b)

    def _hall(self, b):
        self.text(b.text, self.bold, 10 if self.narrow else 12, gap=2)

    def _title(self, b):
        self.add(2)
        self.text(b.text, self.bold, 10 if self.narrow else 11.5)
        self.text(b.en, self.oblique, 7.5, gap=2)

    def _caption(self, b):
        size = 7.5 if self.narrow else 8.5
        first, second = b.text + "  ", b.en
        w1 = pdfmetrics.stringWidth(first, self.regular, size)
        w2 = pdfmetrics.stringWidth(second, self.oblique, size)

        def draw(c, top):
            x = (self.width - w1 - w2) / 2
            c.setFont(self.regular, size)
            c.drawString(x, top - size * 0.85, first)
            c.setFont(self.oblique, size)
            c.drawString(x + w1, top - size * 0.85, second)
        self.add(size * 1.3, draw)

    def _big(self, text, max_size):
        natural = pdfmetrics.stringWidth(text, self.bold, 1)
        size = min(max_size, self.content * 0.96 / natural)
        cap = size * 0.73  # cap height of DejaVu/Vera Bold

        def draw(c, top):
            c.setFont(self.bold, size)
            c.drawCentredString(self.width / 2, top - cap - size * 0.08, text)
        self.add(cap + size * 0.3, draw)

    def _number(self, b):
        self._big(b.text, 58 if self.narrow else 76)

    def _code(self, b):
        self._big(b.text, 22 if self.narrow else 28)
        self.add(3)

    def _strong(self, b):
        self.text(b.text, self.bold, 10 if self.narrow else 12, gap=2)

    def _inverse(self, b):
        size, small = (9, 7) if self.narrow else (10.5, 7.5)
        lines = self._lines(b.text, self.bold, size, self.content - 8)
        height = len(lines) * size * 1.2 + small * 1.25 + 6

        def draw(c, top):
            c.setFillGray(0)
            c.roundRect(self.margin, top - height + 1, self.content, height - 2, 3,
                        stroke=0, fill=1)
            c.setFillGray(1)
            c.setFont(self.bold, size)
            y = top - 3 - size * 0.9
            for line in lines:
                c.drawCentredString(self.width / 2, y, line)
                y -= size * 1.2
            c.setFont(self.oblique, small)
            c.drawCentredString(self.width / 2, y + size * 0.2, b.en)
            c.setFillGray(0)
        self.add(height + 3, draw)

    def _rule(self, b):
        def draw(c, top):
            c.setDash(2, 2)
            c.setLineWidth(0.6)
            c.line(self.margin, top - 4, self.width - self.margin, top - 4)
            c.setDash()
        self.add(8, draw)

    def _pair(self, b):
        size, small, value_size = (7.5, 6.5, 9) if self.narrow else (8.5, 7, 10.5)
        label_w = max(pdfmetrics.stringWidth(b.text, self.regular, size),
                      pdfmetrics.stringWidth(b.en, self.oblique, small))
        room = self.content - label_w - 6
        below = room < self.content * 0.4
        values = [line for part in b.value.split("\n")
                  for line in self._lines(part, self.bold, value_size,
                                          None if below else room)]
        label_h = size * 1.15 + small * 1.2
        value_h = len(values) * value_size * 1.2
        height = (label_h + value_h if below else max(label_h, value_h)) + 2

        def draw(c, top):
            c.setFont(self.regular, size)
            c.drawString(self.margin, top - size * 0.9, b.text)
            c.setFont(self.oblique, small)
            c.drawString(self.margin, top - size * 1.15 - small * 0.9, b.en)
            c.setFont(self.bold, value_size)
            y = top - (label_h if below else 0) - value_size * 0.9
            for line in values:
                c.drawRightString(self.width - self.margin, y, line)
                y -= value_size * 1.2
        self.add(height, draw)

    def _items(self, b):
        size, small = (7.5, 6.5) if self.narrow else (8.5, 7)
        self.add(2)
        self.text(b.text, self.bold, size, leading=size * 1.15)
        self.text(b.en, self.oblique, small, gap=1)
        box = size * 0.8
        for item in b.items:
            lines = self._lines(item, self.regular, size, self.content - box - 4)

            def draw(c, top, lines=lines):
                y = top - size * 0.9
                c.setLineWidth(0.7)
                c.rect(self.margin, y - 0.5, box, box, stroke=1, fill=0)
                c.lines([(self.margin + box * 0.2, y + box * 0.45,
                          self.margin + box * 0.42, y + box * 0.15),
                         (self.margin + box * 0.42, y + box * 0.15,
                          self.margin + box * 0.85, y + box * 0.85)])
                c.setFont(self.regular, size)
                for line in lines:
                    c.drawString(self.margin + box + 4, y, line)
                    y -= size * 1.2
            self.add(len(lines) * size * 1.2 + 1, draw)
        self.add(2)

    def _qr(self, b):
        side = (24 if self.narrow else 30) * mm
        image = ImageReader(qr_image(b.text))

        def draw(c, top):
            c.drawImage(image, (self.width - side) / 2, top - 3 - side, side, side)
        self.add(side + 6, draw)

    def _note(self, b):
        size = 6.5 if self.narrow else 7.5
        self.text(b.text, self.regular, size)
        if b.en:
            self.text(b.en, self.oblique, size - 0.5, gap=2)

    # -- output -------------------------------------------------------------------
    def render(self, title: str) -> bytes:
        top_margin = bottom_margin = 3 * mm
        height = top_margin + sum(h for h, _ in self.parts) + bottom_margin
        buffer = io.BytesIO()
        c = Canvas(buffer, pagesize=(self.width, height), pageCompression=1,
                   invariant=1)
        c.setTitle(title)
        c.setAuthor("Mini MPP Antrian")
        y = height - top_margin
        for part_height, draw in self.parts:
            if draw:
                draw(c, y)
            y -= part_height
        c.showPage()
        c.save()
        return buffer.getvalue()


def _render(blocks: list[Block], width_mm: int, title: str) -> bytes:
    sheet = _Sheet(check_width(width_mm), fonts_for(_block_texts(blocks)))
    for b in blocks:
        sheet.block(b)
    return sheet.render(title)


def render_ticket_pdf(ticket: TicketPrint, width_mm: int = 80) -> bytes:
    return _render(ticket_blocks(ticket), width_mm, f"Tiket {ticket.number}")


def render_receipt_pdf(receipt: CaseReceipt, width_mm: int = 80) -> bytes:
    return _render(receipt_blocks(receipt), width_mm,
                   f"Tanda terima {receipt.tracking_code}")
