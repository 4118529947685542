"""What goes on paper: a library that renders tickets and case receipts and sends them
to network printers. It knows nothing of the app: it takes the plain data objects of
`printers.data` (times already in local time) and returns bytes.

    render_ticket_pdf(TicketPrint, width_mm=80) -> bytes
    render_ticket_escpos(TicketPrint, width_mm=80, qr="native"|"raster") -> bytes
    render_receipt_pdf(CaseReceipt, width_mm=80) -> bytes
    render_receipt_escpos(CaseReceipt, width_mm=80, qr="native"|"raster") -> bytes
    printers.network.send(host, port, payload)    # raw TCP 9100, paper check first
    printers.qr                                   # every QR code the product draws

The print queue, kiosks and the worker that use it live in `app.printing`.
"""
from .data import CaseReceipt, TicketPrint
from .escpos import render_receipt_escpos, render_ticket_escpos
from .pdf import render_receipt_pdf, render_ticket_pdf

__all__ = ["CaseReceipt", "TicketPrint", "render_receipt_escpos", "render_receipt_pdf",
           "render_ticket_escpos", "render_ticket_pdf"]
