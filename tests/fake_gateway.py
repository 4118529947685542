"""A real local HTTP server standing in for a WhatsApp or SMS gateway: it records every
request (headers and JSON), and can be told to answer 500, time out, refuse (400) or
be down, then recover. Like a real gateway, it sends a message once per idempotency key
(`delivered` lists each key once; `requests` lists every try)."""
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FakeGateway:
    def __init__(self):
        self.requests = []
        self.delivered = {}  # idempotency key -> payload, first delivery only
        self.mode = "ok"  # ok | 500 | timeout | 400
        self.delay = 0.0
        self.lock = threading.Lock()
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                try:
                    payload = json.loads(raw or b"{}")
                except ValueError:
                    payload = {}
                with gateway.lock:
                    mode = gateway.mode
                    gateway.requests.append({"headers": dict(self.headers),
                                             "json": payload, "mode": mode})
                if mode == "timeout":
                    time.sleep(2.5)
                    return self._answer(200, {"id": "late"})
                if gateway.delay:
                    time.sleep(gateway.delay)
                if mode == "500":
                    return self._answer(500, {"error": "down"})
                if mode == "400":
                    return self._answer(400, {"error": "not a WhatsApp number"})
                key = self.headers.get("Idempotency-Key", "")
                with gateway.lock:
                    gateway.delivered.setdefault(key, payload)
                return self._answer(200, {"id": f"gw-{key[-12:]}"})

            def _answer(self, status, body):
                data = json.dumps(body).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/send"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def texts_to(self, phone: str) -> list[str]:
        with self.lock:
            return [p.get("text", "") for p in self.delivered.values() if p.get("to") == phone]
