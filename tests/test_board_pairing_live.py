"""Registered boards against a real gunicorn process and real websockets
(websocket-client, requests): pairing end to end, revocation, and one client that
cannot take the board places of another hall."""
import re
import socket

import pytest
import requests
import websocket

from . import boardkit
from .servers import Server
from .test_boards_live import Board, Operator, close_code, wait_until, ws_url

pytestmark = pytest.mark.slow


def refused(server, site, address="127.0.0.1", cookie=None):
    """The (status, error code) of a refused handshake from `address`, or None when
    the socket was accepted (it is then kept open and returned)."""
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=10,
                                    source_address=(address, 0))
    ws = websocket.WebSocket()
    options = {"cookie": cookie} if cookie else {}
    try:
        ws.connect(ws_url(server, site), timeout=10, socket=sock, **options)
    except websocket.WebSocketBadStatusException as exc:
        ws.shutdown()
        sock.close()
        body = exc.resp_body.decode() if exc.resp_body else ""
        code = re.search(r'"code":\s*"([a-z_]+)"', body)
        return exc.status_code, code.group(1) if code else None, ws
    return None, None, ws


def test_one_address_cannot_starve_the_registered_boards_of_another_hall(tmp_path):
    with Server(tmp_path / "srv", workers=1, threads=8,
                env={"BOARD_UNREGISTERED_MAX": "6"}) as server:
        held = []
        try:
            # Unregistered sockets: 4 from one address (BOARD_UNREGISTERED_PER_ADDRESS)...
            for _ in range(4):
                status, _code, ws = refused(server, "tabang")
                assert status is None
                held.append(ws)
            status, code, _ = refused(server, "tabang")
            assert (status, code) == (429, "boards_address_limit")
            status, code, _ = refused(server, "anggana")  # per address, whatever the hall
            assert (status, code) == (429, "boards_address_limit")
            # ... and 6 in all (BOARD_UNREGISTERED_MAX), whatever the address.
            for _ in range(2):
                status, _code, ws = refused(server, "tabang", address="127.0.0.2")
                assert status is None
                held.append(ws)
            status, code, _ = refused(server, "tabang", address="127.0.0.3")
            assert (status, code) == (503, "boards_unregistered_full")
            # A registered board of another hall, and of the same hall, still connect
            # from the very address that was refused, and hear their hall's calls.
            credential = boardkit.register_on(server, "anggana")[0]
            anggana = Board(server, "anggana", credential=credential)
            tabang = Board(server, "tabang")
            held += [anggana.ws, tabang.ws]
            op = Operator(server, "operator.anggana")
            op.issue(site="anggana", service=_a_service(server, "anggana"))
            called = op.call_next(site="anggana", counter="L1")
            anggana.expect("call", number=called["number"])
            # A socket closed frees its place for that address again.
            held[0].close()
            held[0].shutdown()
            assert wait_until(lambda: refused_kept(server, held) is None, timeout=10)
            assert "Traceback" not in server.log()
            assert "BOARD_UNREGISTERED_PER_ADDRESS" in server.log()
        finally:
            for ws in held:
                try:
                    ws.shutdown()
                except Exception:  # noqa: BLE001 - closed already
                    pass


def refused_kept(server, held):
    status, code, ws = refused(server, "tabang")
    if status is None:
        held.append(ws)
    return status


def _a_service(server, site):
    services = requests.get(f"{server.url}/api/v1/sites/{site}/services", timeout=10).json()
    return next(s["code"] for s in services["services"] if s.get("open", True))


def test_pairing_end_to_end_then_revocation(tmp_path):
    with Server(tmp_path / "srv", workers=1, threads=8) as server:
        tv = requests.Session()
        page = tv.get(f"{server.url}/boards/tabang", timeout=10)
        assert page.status_code == 200 and "Papan ini belum terdaftar" in page.text
        code = re.search(r'id="pairing-code"[^>]*>([A-Z0-9-]{7})<', page.text).group(1)
        assert tv.get(f"{server.url}/boards/tabang/pasang", timeout=10).json()[
            "status"] == "waiting"

        # A supervisor of another hall cannot pair it; the hall's own supervisor can.
        other = {"Authorization": f"Bearer {server.token('supervisor.anggana')}"}
        r = requests.post(f"{server.url}/api/v1/sites/tabang/boards", headers=other,
                          json={"code": code, "name": "TV ruang tunggu 1"}, timeout=10)
        assert r.status_code == 403
        own = {"Authorization": f"Bearer {server.token('supervisor.tabang')}"}
        r = requests.post(f"{server.url}/api/v1/sites/tabang/boards", headers=own,
                          json={"code": code, "name": "TV ruang tunggu 1"}, timeout=10)
        assert r.status_code == 201, r.text
        board_id = r.json()["id"]

        assert tv.get(f"{server.url}/boards/tabang/pasang", timeout=10).json()[
            "status"] == "registered"
        credential = tv.cookies.get("mpp_board")
        assert credential and "board.js" in tv.get(f"{server.url}/boards/tabang",
                                                   timeout=10).text
        board = Board(server, "tabang", credential=credential)
        status = requests.get(f"{server.url}/boards/tabang/status.json", timeout=10).json()
        assert status["connected_here"] == status["registered_here"] == 1

        r = requests.post(f"{server.url}/api/v1/sites/tabang/boards/{board_id}/revoke",
                          headers=own, timeout=10)
        assert r.status_code == 200
        assert close_code(board) == 4403  # the open socket is closed at once
        board.close()
        status, code_, _ = refused(server, "tabang", cookie=boardkit.cookie(credential))
        assert (status, code_) == (403, "board_revoked")
        assert "Papan ini belum terdaftar" in tv.get(f"{server.url}/boards/tabang",
                                                     timeout=10).text
        audit = requests.get(f"{server.url}/api/v1/sites/tabang/boards", headers=own,
                             timeout=10).json()["boards"]
        assert audit[0]["status"] == "dicabut"
        assert "Traceback" not in server.log()
