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
