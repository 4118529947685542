"""Printing, the app's side: kiosks and their print settings (`kiosks`), the print
queue with leases and backoff (`queue`), a ticket's and a case receipt's plain data for
the `printers` library (`tickets`, `receipts`), and the worker that sends jobs to
network printers (`worker`)."""
