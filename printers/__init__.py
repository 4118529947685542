"""Ticket and receipt rendering (PDF, ESC/POS) and the print queue."""
