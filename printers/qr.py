"""QR codes: the one maker for every QR code the product draws, on paper (PDF, ESC/POS
raster), on screens (SVG) and in e-mail (PNG).

Always a full QR code, never a Micro QR (which many phone scanners cannot read), with
error correction M.
"""
import io
from functools import lru_cache

import segno


@lru_cache(maxsize=256)
def qr_code(data: str) -> segno.QRCode:
    """One encoding per text, shared by the kiosk screen, the PDF and the ESC/POS raster
    of a ticket (the mask search is most of the cost)."""
    return segno.make(data, error="m", micro=False)


@lru_cache(maxsize=256)
def qr_matrix(data: str) -> tuple:
    """The QR code's modules, without the quiet zone."""
    return tuple(tuple(bool(v) for v in row) for row in qr_code(data).matrix)


def qr_svg_data_uri(data: str, scale: int = 5, border: int = 2) -> str:
    """An SVG data URI for an <img> (the CSP allows data: images, not inline styles)."""
    return qr_code(data).svg_data_uri(scale=scale, border=border, dark="#000")


def qr_png(data: str, scale: int = 6, border: int = 2) -> bytes:
    buffer = io.BytesIO()
    qr_code(data).save(buffer, kind="png", scale=scale, border=border)
    return buffer.getvalue()
