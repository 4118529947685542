"""Registered boards for tests and benchmarks: devices made through the domain
(`app.domain.board_devices.register`, audited like any registration) and their
credentials, which a board presents as its cookie (`mpp_board`).

- `register(site_code)`: with the database bound (the `app`/`db` fixtures);
- `register_on(server, site_code, count)`: against a running server's database, in a
  child process with the server's settings (DATA_DIR, DATABASE_URL);
- `credential_for(server, site_code)`: one such credential per server and hall, cached;
- `board_page(browser, server, site_code)`: a Playwright page holding that credential;
- `cookie(credential)`: the Cookie header value for a websocket client.
"""
import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COOKIE = "mpp_board"


def register(site_code: str, name: str = "TV uji", now: dt.datetime | None = None) -> str:
    from app.domain import board_devices, halls
    _device, credential = board_devices.register(
        halls.get(site_code), name, now or dt.datetime.now(dt.timezone.utc), "test")
    return credential


def register_on(server, site_code: str, count: int = 1, name: str = "TV uji") -> list[str]:
    """`count` registered boards of `site_code` in `server`'s database."""
    out = subprocess.run([sys.executable, "-m", "tests.boardkit", site_code, str(count),
                          name], cwd=ROOT, env=server.env, check=True, capture_output=True,
                         text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def credential_for(server, site_code: str) -> str:
    """One registered board's credential per server and hall, made on first use (every
    board a test opens for that hall may present it: the hall's allowance applies)."""
    made = server.__dict__.setdefault("board_credentials", {})
    if site_code not in made:
        made[site_code] = register_on(server, site_code)[0]
    return made[site_code]


def board_page(browser, server, site_code: str = "tabang", **context_options):
    """A Playwright page in its own context that is a registered board of the hall."""
    context = browser.new_context(**context_options)
    context.add_cookies([{"name": COOKIE, "value": credential_for(server, site_code),
                          "url": server.url}])
    return context.new_page()


def cookie(credential: str) -> str:
    return f"{COOKIE}={credential}"


def _main(site_code: str, count: str, name: str) -> None:
    from app import create_app
    from app.db import database
    app = create_app()
    with app.app_context():
        database.connect(reuse_if_open=True)
        credentials = [register(site_code, f"{name} {i + 1}") for i in range(int(count))]
        database.close()
    print(json.dumps(credentials))


if __name__ == "__main__":
    _main(*sys.argv[1:4])
