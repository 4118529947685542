"""ESC/POS bytes for 58 and 80 mm thermal printers (Epson TM and the many compatibles).

What is used, all in Epson's ESC/POS reference:
  ESC @            initialise              ESC t 0      code page PC437
  ESC a n          align (0 left, 1 centre) ESC E n      bold on/off
  ESC M n          font A (12x24) / B (9x17) GS ! n     character size (width, height)
  GS B n           white on black           ESC d n      feed n lines
  GS ( k           QR code: model 2, module size, error level M, store, print
  GS v 0           raster bit image (the QR fallback for printers without GS ( k)
  GS V 66 n        feed to the cutter and cut (partial)
Font A gives 48 columns on 80 mm paper (576 dots) and 32 on 58 mm (384 dots).
"""
import textwrap
import unicodedata

from .data import CaseReceipt, TicketPrint
from .layout import Block, receipt_blocks, ticket_blocks
from .pdf import check_width
from .qr import qr_matrix

ESC, GS = b"\x1b", b"\x1d"
INIT = ESC + b"@"
CODEPAGE_PC437 = ESC + b"t\x00"
CUT = GS + b"V\x42\x03"
DOTS = {58: 384, 80: 576}
COLUMNS = {58: 32, 80: 48}
COLUMNS_B = {58: 42, 80: 64}
QR_MODULE = {58: 5, 80: 6}


def encode(text: str) -> bytes:
    """PC437 text; characters it lacks are reduced to their base letter, else '?'."""
    out = bytearray()
    for ch in text:
        try:
            out += ch.encode("cp437")
        except UnicodeEncodeError:
            base = unicodedata.normalize("NFKD", ch).encode("ascii", "ignore")
            out += base or b"?"
    return bytes(out)


def size(width: int, height: int) -> bytes:
    return GS + b"!" + bytes([((width - 1) << 4) | (height - 1)])


def qr_native(data: str, module: int) -> bytes:
    payload = data.encode("utf-8")
    store_len = len(payload) + 3
    return b"".join([
        GS + b"(k\x04\x00\x31\x41\x32\x00",               # model 2
        GS + b"(k\x03\x00\x31\x43" + bytes([module]),       # module size in dots
        GS + b"(k\x03\x00\x31\x45\x31",                      # error correction M
        GS + b"(k" + bytes([store_len & 0xFF, store_len >> 8]) + b"\x31\x50\x30" + payload,
        GS + b"(k\x03\x00\x31\x51\x30",                      # print the stored symbol
    ])


def qr_raster(data: str, module: int, paper_dots: int) -> bytes:
    """The QR as a GS v 0 raster as wide as the paper, the symbol centred in it, with
    a four-module quiet zone above and below."""
    matrix = qr_matrix(data)
    n = len(matrix)
    side = n * module
    width_bytes = paper_dots // 8
    left = max(0, (paper_dots - side) // 2)
    quiet = 4 * module
    blank = bytes(width_bytes)
    rows = [blank] * quiet
    for matrix_row in matrix:
        bits = bytearray(width_bytes)
        for col, dark in enumerate(matrix_row):
            if dark:
                start = left + col * module
                for x in range(start, min(start + module, paper_dots)):
                    bits[x >> 3] |= 0x80 >> (x & 7)
        rows.extend([bytes(bits)] * module)
    rows.extend([blank] * quiet)
    height = len(rows)
    header = GS + b"v0\x00" + bytes([width_bytes & 0xFF, width_bytes >> 8,
                                     height & 0xFF, height >> 8])
    return header + b"".join(rows)


class _Roll:
    def __init__(self, width_mm: int, qr: str):
        self.width = check_width(width_mm)
        self.cols = COLUMNS[self.width]
        self.cols_b = COLUMNS_B[self.width]
        self.qr_mode = qr
        self.out = bytearray(INIT + CODEPAGE_PC437)

    def w(self, *chunks: bytes):
        for chunk in chunks:
            self.out += chunk

    def line(self, text: str, cols: int | None = None):
        for part in textwrap.wrap(text, cols or self.cols) or [""]:
            self.w(encode(part), b"\n")

    def small(self, text: str):
        self.w(ESC + b"M\x01")
        self.line(text, self.cols_b)
        self.w(ESC + b"M\x00")

    def block(self, b: Block):
        getattr(self, "_" + b.kind)(b)

    def _hall(self, b):
        self.w(ESC + b"a\x01", ESC + b"E\x01")
        if len(b.text) <= self.cols // 2:
            self.w(size(2, 2))
            self.line(b.text, self.cols // 2)
        else:
            self.w(size(1, 2))
            self.line(b.text)
        self.w(size(1, 1), ESC + b"E\x00")

    def _title(self, b):
        self.w(ESC + b"a\x01", ESC + b"E\x01", size(1, 2))
        self.line(b.text)
        self.w(size(1, 1), ESC + b"E\x00")
        self.small(b.en)

    def _caption(self, b):
        self.w(ESC + b"a\x01")
        self.line(f"{b.text} / {b.en}")

    def _magnified(self, text: str, largest: int):
        factor = max(1, min(largest, self.cols // max(1, len(text))))
        self.w(ESC + b"a\x01", ESC + b"E\x01", size(factor, factor), encode(text), b"\n",
               size(1, 1), ESC + b"E\x00")

    def _number(self, b):
        self._magnified(b.text, 6)

    def _code(self, b):
        self._magnified(b.text, 2)

    def _strong(self, b):
        self.w(ESC + b"a\x01", ESC + b"E\x01", size(1, 2))
        self.line(b.text)
        self.w(size(1, 1), ESC + b"E\x00")

    def _inverse(self, b):
        self.w(ESC + b"a\x01", ESC + b"E\x01", GS + b"B\x01")
        for part in textwrap.wrap(b.text, self.cols - 2):
            self.w(encode(f" {part} "), b"\n")
        self.w(GS + b"B\x00", ESC + b"E\x00")
        self.small(b.en)

    def _rule(self, b):
        self.w(ESC + b"a\x00", b"-" * self.cols, b"\n")

    def _pair(self, b):
        self.w(ESC + b"a\x00")
        values = [v for part in b.value.split("\n") for v in textwrap.wrap(part, self.cols)]
        first = values[0] if values else ""
        gap = self.cols - len(b.text) - len(first)
        if gap >= 1:
            self.w(encode(b.text), b" " * gap, ESC + b"E\x01", encode(first),
                   ESC + b"E\x00", b"\n")
            rest = values[1:]
        else:
            self.w(encode(b.text), b"\n")
            rest = values
        for value in rest:
            self.w(b" " * (self.cols - len(value)), ESC + b"E\x01", encode(value),
                   ESC + b"E\x00", b"\n")
        if b.en:
            self.small(b.en)

    def _items(self, b):
        self.w(ESC + b"a\x00", ESC + b"E\x01")
        self.line(b.text)
        self.w(ESC + b"E\x00")
        self.small(b.en)
        for item in b.items:
            lines = textwrap.wrap(item, self.cols - 4) or [""]
            self.w(b"[x] ", encode(lines[0]), b"\n")
            for more in lines[1:]:
                self.w(b"    ", encode(more), b"\n")

    def _qr(self, b):
        self.w(ESC + b"a\x01", ESC + b"d\x01")
        module = QR_MODULE[self.width]
        if self.qr_mode == "native":
            self.w(qr_native(b.text, module), b"\n")
        else:
            self.w(qr_raster(b.text, module, DOTS[self.width]))

    def _note(self, b):
        self.w(ESC + b"a\x01")
        self.line(b.text)
        if b.en:
            self.small(b.en)

    def finish(self) -> bytes:
        self.w(ESC + b"a\x00", ESC + b"d\x03", CUT)
        return bytes(self.out)


def _render(blocks, width_mm, qr):
    if qr not in ("native", "raster"):
        raise ValueError("qr must be 'native' or 'raster'")
    roll = _Roll(width_mm, qr)
    for b in blocks:
        roll.block(b)
    return roll.finish()


def render_ticket_escpos(ticket: TicketPrint, width_mm: int = 80, qr: str = "native") -> bytes:
    return _render(ticket_blocks(ticket), width_mm, qr)


def render_receipt_escpos(receipt: CaseReceipt, width_mm: int = 80,
                          qr: str = "native") -> bytes:
    return _render(receipt_blocks(receipt), width_mm, qr)
