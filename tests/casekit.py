"""Helpers for the cases tests: a ticket being served, valid NIKs, small files."""
import io

from PIL import Image

from app.domain import queueing
from app.models import User

from .conftest import MONDAY_9

NIK = "6402124107900001"       # Tabang (64.02.12), woman born 1 July 1990
NIK_MAN = "6402120101850002"


def serving_ticket(site_code="tabang", service_code="ADM-KK", counter_code="L1",
                   now=MONDAY_9):
    site = queueing.get_site(site_code)
    service = queueing.get_service(service_code)
    queueing.issue_ticket(site, service, now)
    counter = queueing.get_counter(site, counter_code)
    ticket = queueing.call_next(counter, now, "operator." + site_code)
    return queueing.start(ticket.id, now, "operator." + site_code)


def user(name):
    return User.get(User.username == name)


def png_bytes(size=(20, 10)):
    out = io.BytesIO()
    Image.new("RGB", size, (200, 10, 10)).save(out, "PNG")
    return out.getvalue()


def jpeg_bytes():
    out = io.BytesIO()
    Image.new("RGB", (30, 20), (10, 200, 10)).save(out, "JPEG")
    return out.getvalue()


def pdf_bytes():
    from reportlab.pdfgen import canvas
    out = io.BytesIO()
    c = canvas.Canvas(out)
    c.drawString(100, 700, "Formulir F-1.01")
    c.save()
    return out.getvalue()


def big_pdf_bytes(megabytes=1.5):
    """A real PDF over `megabytes` (a page with an image of noise, which no compression
    shrinks)."""
    import os

    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas
    side = int((megabytes * 1024 * 1024 / 3) ** 0.5) + 16
    noise = Image.frombytes("RGB", (side, side), os.urandom(side * side * 3))
    out = io.BytesIO()
    c = canvas.Canvas(out)
    c.drawImage(ImageReader(noise), 10, 10, width=500, height=500)
    c.save()
    return out.getvalue()


def bomb_png(side=20000):
    """A PNG declaring side x side pixels (400 MP for 20000) in a few hundred bytes."""
    import struct
    import zlib

    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    rows = zlib.compress(b"\x00" * 1000)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows)
            + chunk(b"IEND", b""))
