"""A small HTTP-aware TCP proxy for the dropped-acknowledgement test: it forwards each
request to the upstream server, waits for the whole response (so the upstream has
committed), and then, while `drop` is above zero for matching requests, closes the
client's connection instead of passing the response on."""
import socket
import threading


def _read_message(sock, buffer: bytes) -> tuple[bytes | None, bytes]:
    """One HTTP message (headers + Content-Length body) from sock; None at EOF."""
    while b"\r\n\r\n" not in buffer:
        chunk = sock.recv(65536)
        if not chunk:
            return None, buffer
        buffer += chunk
    head, _, rest = buffer.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            return None, buffer
        rest += chunk
    return head + b"\r\n\r\n" + rest[:length], rest[length:]


class DropProxy:
    def __init__(self, upstream_port: int, match: bytes = b"POST /api/v1/sync/cases",
                 drop: int = 0):
        self.upstream_port, self.match, self.drop = upstream_port, match, drop
        self.dropped = 0
        self.forwarded = 0
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.port = self.listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.lock = threading.Lock()
        self.closing = False
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self):
        self.closing = True
        self.listener.close()

    def _accept(self):
        while not self.closing:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client):
        upstream = None
        try:
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
            cbuf = ubuf = b""
            while True:
                request, cbuf = _read_message(client, cbuf)
                if request is None:
                    return
                upstream.sendall(request)
                response, ubuf = _read_message(upstream, ubuf)
                if response is None:
                    return
                with self.lock:
                    drop = self.drop > 0 and request.startswith(self.match)
                    if drop:
                        self.drop -= 1
                        self.dropped += 1
                    else:
                        self.forwarded += 1
                if drop:
                    return  # the centre committed; the hall never hears of it
                client.sendall(response)
        except OSError:
            return
        finally:
            client.close()
            if upstream is not None:
                upstream.close()
