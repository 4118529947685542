"""Settings: defaults, then the environment, then test overrides (see create_app).

Every setting the product reads is listed in SETTINGS with its default and meaning;
README's configuration table is checked against this list by a test.
"""
import os
import secrets
from pathlib import Path

SETTINGS = {
    "PORT": ("8000", "TCP port gunicorn listens on"),
    "HOST": ("127.0.0.1", "address gunicorn binds to"),
    "DATA_DIR": ("./instance", "where the SQLite database, keys and uploads live"),
    "DATABASE_URL": ("", "peewee db URL; empty means sqlite:///DATA_DIR/mpp.sqlite3"),
    "REDIS_URL": ("", "Redis for fanning board events out across workers"),
    "BOARD_CHANNEL_PREFIX": ("mpp:", "prefix of the Redis pub/sub channels of board events"),
    "MPP_ROLE": ("all-in-one", "all-in-one | site | central"),
    "MPP_SITES": ("all", "comma-separated site codes this node serves, or all"),
    "CENTRAL_URL": ("", "base URL of the central node (site role)"),
    "SYNC_SECRET": ("", "this hall's own key for signing requests to the centre"),
    "SYNC_KEYS": ("", "at the centre: site:key,... accepted hall keys"),
    "SECRET_KEY": ("", "signs sessions; generated once into DATA_DIR when empty"),
    "DEMO_PASSWORD": ("demo", "password of the demo accounts"),
    "WEB_CONCURRENCY": ("1", "gunicorn worker processes (more than 1 needs REDIS_URL)"),
    "GUNICORN_THREADS": ("32", "threads per gunicorn worker (gthread); each board holds one"),
    "BOARD_RESERVED_THREADS": ("8", "threads per worker kept free of boards for kiosks, "
                               "consoles and the API"),
    "BOARD_PING_SECONDS": ("25", "websocket ping interval; a board missing a pong is dropped"),
    "BOARD_ALLOWED_ORIGINS": ("", "extra Origins allowed to open board websockets "
                              "(comma-separated; same-origin is always allowed)"),
    "MPP_CLOCK_START": ("", "ISO instant the app clock starts at, then runs on"),
    "RATE_LIMITS": ("on", "on | off: throttling of public endpoints"),
    "MAX_BODY_BYTES": ("1048576", "largest accepted request body outside uploads"),
    "SESSION_IDLE_MINUTES": ("30", "console sessions end after this much inactivity"),
    "SESSION_MAX_HOURS": ("10", "console sessions end this long after login"),
    "LOG_LEVEL": ("INFO", "logging level"),
}


def from_environment(environ=None):
    environ = os.environ if environ is None else environ
    return {name: environ.get(name, default) or default
            for name, (default, _meaning) in SETTINGS.items()}


def secret_key_for(data_dir: Path) -> str:
    """A stable secret per installation, so restarts and workers share sessions."""
    path = data_dir / "secret_key"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
    return path.read_text().strip()
