"""A network ESC/POS printer stand-in: a real TCP listener on loopback that records
each connection's bytes, answering the paper-status request (DLE EOT 4) like a printer."""
import socket
import threading
import time

STATUS_REQUEST = b"\x10\x04\x04"
PAPER_OK, PAPER_END = 0x12, 0x72


class FakePrinter:
    def __init__(self, port: int = 0, paper: bool = True, answers_status: bool = True):
        self.port = port
        self.paper = paper
        self.answers_status = answers_status
        self.jobs: list[bytes] = []
        self.connections = 0
        self._sock = None
        self._thread = None
        self._stop = threading.Event()

    def start(self):
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", self.port))
        self.port = self._sock.getsockname()[1]
        self._sock.listen(8)
        self._sock.settimeout(0.1)
        self._stop.clear()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=5)
        if self._sock:
            self._sock.close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def _serve(self):
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except socket.timeout:
                continue
            self.connections += 1
            self._handle(conn)  # one at a time, like a real port 9100

    def _handle(self, conn):
        conn.settimeout(5)
        received = bytearray()
        with conn:
            while True:
                try:
                    chunk = conn.recv(65536)
                except (socket.timeout, OSError):
                    break
                if not chunk:
                    break
                received += chunk
                if received.startswith(STATUS_REQUEST) and len(received) == len(
                        STATUS_REQUEST) and self.answers_status:
                    conn.sendall(bytes([PAPER_OK if self.paper else PAPER_END]))
        payload = bytes(received)
        if payload.startswith(STATUS_REQUEST):
            payload = payload[len(STATUS_REQUEST):]
        if payload:
            self.jobs.append(payload)

    def wait_for_jobs(self, count: int, timeout: float = 15) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.jobs) >= count:
                return True
            time.sleep(0.05)
        return False


def print_with_worker_threads(app, printer, expected: int, threads: int = 4,
                              timeout: float = 30) -> bool:
    """Run `threads` PrintWorkers at once until the printer got `expected` jobs (plus a
    moment for any duplicate to arrive); True when they all came."""
    from app.printing.worker import PrintWorker
    workers = [PrintWorker(app, owner=f"w{i}") for i in range(threads)]
    running = [threading.Thread(target=w.run, args=(0.05,)) for w in workers]
    for t in running:
        t.start()
    try:
        arrived = printer.wait_for_jobs(expected, timeout=timeout)
        time.sleep(0.5)  # a second copy of any job would land now
        return arrived
    finally:
        for w in workers:
            w.stop()
        for t in running:
            t.join(timeout=10)
