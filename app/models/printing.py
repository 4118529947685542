"""Kiosks with their print settings, and the print queue."""
import peewee as pw

from ..db import BaseModel
from .catalogue import Site
from .fields import JSONField
from .queue import Ticket

PRINT_MODES = {
    "browser-html": "Browser: halaman cetak HTML (Chrome --kiosk-printing)",
    "browser-pdf": "Browser: PDF",
    "escpos-network": "Printer ESC/POS jaringan (TCP 9100)",
}
PAPER_WIDTHS = (58, 80)
QR_MODES = {"native": "Perintah QR printer (GS ( k)", "raster": "Gambar raster (GS v 0)"}
JOB_STATUSES = ("pending", "printed", "failed")


class Kiosk(BaseModel):
    """A ticket kiosk (or a counter's receipt printer) and how it prints."""
    site = pw.ForeignKeyField(Site, backref="kiosks")
    code = pw.CharField(max_length=20)
    name = pw.CharField(max_length=80)
    print_mode = pw.CharField(max_length=20, default="browser-html")
    host = pw.CharField(max_length=255, default="")
    port = pw.IntegerField(default=9100)
    paper_width = pw.IntegerField(default=80)
    qr_mode = pw.CharField(max_length=10, default="native")
    active = pw.BooleanField(default=True)
    # What the print worker last saw of the printer (escpos-network only).
    printer_state = pw.CharField(max_length=12, default="unknown")  # unknown | ok | error
    printer_checked_at = pw.DateTimeField(null=True)
    printer_error = pw.CharField(max_length=255, default="")

    class Meta:
        indexes = ((("site", "code"), True),)


class PrintJob(BaseModel):
    """One printout on its way to a network printer. `data` is a snapshot of the
    TicketPrint/CaseReceipt (printers.data) taken when the job was stored, so a
    retry prints what the citizen saw on screen."""
    ticket = pw.ForeignKeyField(Ticket, null=True, backref="print_jobs")
    kiosk = pw.ForeignKeyField(Kiosk, backref="jobs")
    kind = pw.CharField(max_length=12, default="ticket")  # ticket | receipt
    reprint = pw.BooleanField(default=False)
    data = JSONField()
    status = pw.CharField(max_length=10, default="pending")
    attempts = pw.IntegerField(default=0)
    created_at = pw.DateTimeField()
    next_try_at = pw.DateTimeField()
    lease_owner = pw.CharField(max_length=64, null=True)
    lease_until = pw.DateTimeField(null=True)
    last_error = pw.CharField(max_length=255, default="")
    printed_at = pw.DateTimeField(null=True)

    class Meta:
        indexes = ((("status", "next_try_at"), False),)
