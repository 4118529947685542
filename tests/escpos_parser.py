"""A small ESC/POS decoder for the tests: enough of the command set to check what a
printer would do with our bytes (init, text and its size, QR, raster, cut)."""
from dataclasses import dataclass, field


@dataclass
class Printout:
    commands: list = field(default_factory=list)   # (name, args) in order
    lines: list = field(default_factory=list)      # (text, width factor, height factor, bold)
    qr_data: list = field(default_factory=list)    # data stored with GS ( k fn 80
    qr_printed: int = 0
    rasters: list = field(default_factory=list)    # (width_bytes, height, bytes)

    def text(self) -> str:
        return "\n".join(t for t, *_ in self.lines)


def parse(data: bytes) -> Printout:
    out = Printout()
    i, n = 0, len(data)
    width = height = 1
    bold = False
    current = bytearray()

    def flush():
        out.lines.append((current.decode("cp437"), width, height, bold))
        current.clear()

    while i < n:
        b = data[i]
        if b == 0x1B:  # ESC
            op = data[i + 1]
            if op == ord("@"):
                out.commands.append(("init", None))
                width = height = 1
                bold = False
                i += 2
            elif op in b"taEMd":
                arg = data[i + 2]
                name = {"t": "codepage", "a": "align", "E": "bold", "M": "font",
                        "d": "feed"}[chr(op)]
                out.commands.append((name, arg))
                if name == "bold":
                    bold = bool(arg)
                i += 3
            else:
                raise ValueError(f"unknown ESC {op:#x} at {i}")
        elif b == 0x1D:  # GS
            op = data[i + 1]
            if op == ord("!"):
                arg = data[i + 2]
                width, height = (arg >> 4) + 1, (arg & 0x0F) + 1
                out.commands.append(("size", (width, height)))
                i += 3
            elif op == ord("B"):
                out.commands.append(("reverse", data[i + 2]))
                i += 3
            elif op == ord("V"):
                m = data[i + 2]
                if m in (65, 66):
                    out.commands.append(("cut", (m, data[i + 3])))
                    i += 4
                else:
                    out.commands.append(("cut", (m, None)))
                    i += 3
            elif op == ord("(") and data[i + 2] == ord("k"):
                length = data[i + 3] | (data[i + 4] << 8)
                body = data[i + 5:i + 5 + length]
                cn, fn = body[0], body[1]
                assert cn == 0x31, "only QR (cn 49) is used"
                if fn == 0x50:
                    out.qr_data.append(bytes(body[3:]).decode("utf-8"))
                elif fn == 0x51:
                    out.qr_printed += 1
                out.commands.append(("qr", fn))
                i += 5 + length
            elif op == ord("v") and data[i + 2] == ord("0"):
                xw = data[i + 4] | (data[i + 5] << 8)
                yh = data[i + 6] | (data[i + 7] << 8)
                body = data[i + 8:i + 8 + xw * yh]
                assert len(body) == xw * yh, "raster data cut short"
                out.rasters.append((xw, yh, bytes(body)))
                out.commands.append(("raster", (xw, yh)))
                i += 8 + xw * yh
            else:
                raise ValueError(f"unknown GS {op:#x} at {i}")
        elif b == 0x0A:
            flush()
            i += 1
        elif b < 0x20:
            raise ValueError(f"unexpected control byte {b:#x} at {i}")
        else:
            current.append(b)
            i += 1
    if current:
        flush()
    return out


def preview(data: bytes, paper_dots: int):
    """A rough picture of the paper (PIL image, 1 px = 1 printer dot): font A is drawn
    12x24 per character with DejaVu Sans Mono, sizes, bold, reverse and alignment
    honoured, the native QR drawn as the printer would, rasters blitted."""
    import segno
    from PIL import Image, ImageDraw, ImageFont

    font_path = "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf"
    bold_path = "/usr/share/fonts/truetype/dejavu/DejaVuSansMono-Bold.ttf"
    page = Image.new("L", (paper_dots, 6000), 255)
    draw = ImageDraw.Draw(page)
    y = 8
    state = {"align": 0, "bold": False, "font": 0, "w": 1, "h": 1, "reverse": False,
             "qr_module": 3}
    i, n = 0, len(data)
    text = []

    fonts = {}

    def glyph(c, bold, base):
        key = (c, bold, base)
        if key not in fonts:
            cw, ch = base
            cell = Image.new("L", (cw, ch), 255)
            try:
                fnt = ImageFont.truetype(bold_path if bold else font_path, int(ch * 0.78))
            except OSError:  # no fonts-dejavu: a plainer picture
                fnt = ImageFont.load_default()
            ImageDraw.Draw(cell).text((0, 1), c, font=fnt, fill=0)
            fonts[key] = cell
        return fonts[key]

    def emit():
        nonlocal y
        base = (9, 17) if state["font"] else (12, 24)
        cw, ch = base[0] * state["w"], base[1] * state["h"]
        width = cw * len(text)
        x = {0: 0, 1: (paper_dots - width) // 2, 2: paper_dots - width}[state["align"]]
        for k, (code, bold) in enumerate(text):
            cell = glyph(bytes([code]).decode("cp437"), bold, base).resize((cw, ch))
            if state["reverse"]:
                cell = cell.point(lambda v: 255 - v)
            page.paste(cell, (x + k * cw, y))
        y += ch + 4
        text.clear()

    while i < n:
        b = data[i]
        if b == 0x1B:
            op, arg = chr(data[i + 1]), data[i + 2] if i + 2 < n else 0
            if op == "@":
                i += 2
                continue
            if op == "a":
                state["align"] = arg
            elif op == "E":
                state["bold"] = bool(arg)
            elif op == "M":
                state["font"] = arg
            elif op == "d":
                y += 24 * arg
            i += 3
        elif b == 0x1D:
            op = chr(data[i + 1])
            if op == "!":
                state["w"], state["h"] = (data[i + 2] >> 4) + 1, (data[i + 2] & 15) + 1
                i += 3
            elif op == "B":
                state["reverse"] = bool(data[i + 2])
                i += 3
            elif op == "V":
                draw.line([0, y + 10, paper_dots, y + 10], fill=128)
                y += 20
                i += 4
            elif op == "(":
                length = data[i + 3] | (data[i + 4] << 8)
                body = data[i + 5:i + 5 + length]
                if body[1] == 0x43:
                    state["qr_module"] = body[2]
                if body[1] == 0x50:
                    state["qr"] = bytes(body[3:]).decode()
                if body[1] == 0x51:
                    matrix = segno.make(state["qr"], error="m", micro=False).matrix
                    m = state["qr_module"]
                    left = (paper_dots - len(matrix) * m) // 2
                    for r, row in enumerate(matrix):
                        for c, dark in enumerate(row):
                            if dark:
                                draw.rectangle([left + c * m, y + r * m,
                                                left + c * m + m - 1, y + r * m + m - 1], fill=0)
                    y += len(matrix) * m
                i += 5 + length
            elif op == "v":
                xw = data[i + 4] | (data[i + 5] << 8)
                yh = data[i + 6] | (data[i + 7] << 8)
                body = data[i + 8:i + 8 + xw * yh]
                img = Image.frombytes("1", (xw * 8, yh), bytes(255 - v for v in body))
                page.paste(img.convert("L"), (0, y))
                y += yh
                i += 8 + xw * yh
            else:
                i += 2
        elif b == 0x0A:
            emit()
            i += 1
        else:
            text.append((b, state["bold"]))
            i += 1
    return page.crop((0, 0, paper_dots, y + 8))
