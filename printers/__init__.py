"""Ticket and receipt rendering (PDF, ESC/POS) and the print queue.

The renderers take the plain data objects of printers.data, never models:
    render_ticket_pdf(TicketPrint, width_mm=80) -> bytes
    render_ticket_escpos(TicketPrint, width_mm=80, qr="native"|"raster") -> bytes
    render_receipt_pdf(CaseReceipt, width_mm=80) -> bytes
    render_receipt_escpos(CaseReceipt, width_mm=80, qr="native"|"raster") -> bytes
"""
from .data import CaseReceipt, TicketPrint
from .escpos import render_receipt_escpos, render_ticket_escpos
from .pdf import render_receipt_pdf, render_ticket_pdf

__all__ = ["CaseReceipt", "TicketPrint", "render_receipt_escpos", "render_receipt_pdf",
           "render_ticket_escpos", "render_ticket_pdf"]
