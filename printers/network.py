"""Sending bytes to a network ESC/POS printer (raw TCP, port 9100 by convention).

Before the job, the printer is asked for its paper sensor status (DLE EOT 4, a
real-time command answered even while it is busy). A printer that reports the roll
empty gets nothing, so the job waits for paper instead of vanishing into a printer that
cannot print it. A printer that does not answer within a moment is assumed to have no
status support, and the job is sent.
"""
import socket

STATUS_PAPER = b"\x10\x04\x04"
PAPER_END = 0x60          # bits 5 and 6: roll sensor reports paper end
STATUS_WAIT_SECONDS = 0.3


class PrinterError(Exception):
    """The printer could not take the job; the message is shown to the supervisor."""


def send(host: str, port: int, payload: bytes, timeout: float = 5.0,
         status_wait: float = STATUS_WAIT_SECONDS) -> None:
    try:
        conn = socket.create_connection((host, port), timeout=timeout)
    except socket.timeout:
        raise PrinterError(f"Printer {host}:{port} tidak menjawab (waktu habis).")
    except OSError as exc:
        raise PrinterError(f"Printer {host}:{port} tidak dapat dihubungi: "
                           f"{exc.strerror or exc}.")
    with conn:
        try:
            conn.sendall(STATUS_PAPER)
            conn.settimeout(status_wait)
            try:
                status = conn.recv(1)
            except socket.timeout:
                status = None
            if status == b"":
                raise PrinterError(f"Printer {host}:{port} menutup sambungan.")
            if status and status[0] & PAPER_END:
                raise PrinterError("Kertas printer habis.")
            conn.settimeout(timeout)
            conn.sendall(payload)
        except socket.timeout:
            raise PrinterError(f"Printer {host}:{port} berhenti menerima data (waktu habis).")
        except OSError as exc:
            raise PrinterError(f"Sambungan ke printer {host}:{port} terputus: "
                               f"{exc.strerror or exc}.")
