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
    "MPP_ROLE": ("all-in-one", "all-in-one, site or central"),
    "MPP_SITES": ("all", "comma-separated site codes this node serves, or all"),
    "CENTRAL_URL": ("", "base URL of the central node (site role)"),
    "SYNC_SECRET": ("", "this hall's own key for signing requests to the centre"),
    "SYNC_KEYS": ("", "at the centre: site:key,... accepted hall keys"),
    "SECRET_KEY": ("", "signs sessions; generated once into DATA_DIR when empty"),
    "DEMO": ("on", "on: setup loads the demo into an empty database; off: a real "
                   "installation, setup loads no demo data"),
    "DEMO_PASSWORD": ("demo", "password of the demo accounts"),
    "WEB_CONCURRENCY": ("1", "gunicorn worker processes (more than 1 needs REDIS_URL)"),
    "GUNICORN_THREADS": ("8", "request threads per gunicorn worker (gthread); board and "
                         "console websockets hold none"),
    "BOARD_MAX_CONNECTIONS": ("2000", "board and console websockets one worker holds; the "
                              "next is refused (503 boards_full)"),
    "BOARD_PAIRING": ("on", "on: a TV's board page shows a pairing code until a supervisor "
                      "registers it; off: the board page opens for anyone (a trusted hall "
                      "LAN); socket limits apply either way"),
    "BOARD_HALL_MAX": ("500", "board websockets of one hall's registered boards per worker"),
    "BOARD_UNREGISTERED_PER_ADDRESS": ("4", "board websockets of unregistered clients per "
                                       "address and worker; the next is refused (429 "
                                       "boards_address_limit)"),
    "BOARD_UNREGISTERED_MAX": ("100", "board websockets of unregistered clients per worker "
                               "(at most half of BOARD_MAX_CONNECTIONS); the next is refused "
                               "(503 boards_unregistered_full)"),
    "BOARD_PING_SECONDS": ("25", "websocket ping interval; a board missing a pong is dropped"),
    "BOARD_ALLOWED_ORIGINS": ("", "extra Origins allowed to open board websockets "
                              "(comma-separated; same-origin is always allowed)"),
    "MPP_CLOCK_START": ("", "ISO instant the app clock starts at, then runs on"),
    "RATE_LIMITS": ("on", "on or off: throttling of public endpoints"),
    "RATE_LIMIT_BOOKING": ("20/minute", "booking, cancelling, rescheduling per client"),
    "RATE_LIMIT_LOOKUP": ("30/minute", "viewing an appointment with code + NIK per client"),
    "RATE_LIMIT_CHECKIN": ("30/minute", "appointment check-ins per client (kiosk)"),
    "RATE_LIMIT_TICKETS": ("120/minute", "tickets issued per client (a hall's kiosks)"),
    "RATE_LIMIT_TRACK": ("60/minute", "case tracking look-ups per client (/lacak, track API)"),
    "RATE_LIMIT_SURVEY": ("30/minute", "survey answers per client (a counter's tablet)"),
    "RATE_LIMIT_REDIS_PREFIX": ("mpp:rl:", "key prefix of rate-limit counters in Redis"),
    "NIK_HASH_KEY": ("", "key of the NIK HMAC (lookups); empty = SECRET_KEY"),
    "SMTP_HOST": ("", "SMTP server for e-mail confirmations; empty = mail waits in outbox"),
    "SMTP_PORT": ("587", "SMTP port"),
    "SMTP_USER": ("", "SMTP login; empty = no AUTH"),
    "SMTP_PASSWORD": ("", "SMTP password"),
    "SMTP_FROM": ("Mini MPP Kutai Kartanegara <noreply@mpp.kukarkab.go.id>",
                  "From: address of e-mails"),
    "SMTP_STARTTLS": ("on", "on or off: STARTTLS before login and sending"),
    "MAIL_SENDER_THREAD": ("on", "on or off: each worker sends the outbox in a thread "
                                 "(when SMTP_HOST is set)"),
    "MAX_BODY_BYTES": ("1048576", "largest accepted request body outside uploads"),
    "UPLOAD_MAX_BYTES": ("10485760", "largest accepted case attachment (one file)"),
    "SYNC_MAX_BODY_BYTES": ("33554432", "largest accepted sync request at the centre"),
    "SYNC_BATCH": ("500", "messages per request from a hall to the centre"),
    "SYNC_INTERVAL_SECONDS": ("2", "how often a hall's sender looks for work"),
    "SYNC_MAX_BACKOFF_SECONDS": ("60", "longest wait between retries when the link fails"),
    "SYNC_WINDOW_SECONDS": ("300", "accepted clock difference (and nonce memory) for signed "
                                   "sync requests"),
    "SYNC_SENDER": ("on", "on or off: the background sender in site and all-in-one workers"),
    "SESSION_IDLE_MINUTES": ("30", "console sessions end after this much inactivity"),
    "SESSION_MAX_HOURS": ("10", "console sessions end this long after login"),
    "TOKEN_LIFETIME_HOURS": ("12", "API bearer tokens expire this long after they are "
                             "issued (POST /api/v1/auth/logout ends one sooner)"),
    "BACKUP_DIR": ("", "where `mpp backup` and the daily run put archives; empty = "
                   "DATA_DIR/backups"),
    "BACKUP_KEEP_DAYS": ("14", "archives older than this many days are removed (the newest "
                               "is always kept)"),
    "BACKUP_TIMES": ("12:00,16:30", "WITA times of the automatic backup each day "
                                    "(comma-separated)"),
    "BACKUP_AUTO": ("on", "on or off: the server makes the daily backups by itself "
                          "(SQLite boxes)"),
    "LOG_LEVEL": ("INFO", "logging level"),
    "TRUSTED_PROXIES": ("0", "reverse proxies in front (X-Forwarded-* are trusted from them)"),
    "PRINT_WORKER": ("on", "on or off: a print-queue worker thread in each gunicorn worker"),
    "PRINT_TIMEOUT_SECONDS": ("5", "connect/send timeout for a network ESC/POS printer"),
    "PRINT_RETRY_MAX_SECONDS": ("60", "longest wait between two tries of a print job"),
    "PRINT_GIVE_UP_MINUTES": ("30", "a print job not sent after this long is marked failed"),
    "PUBLIC_BASE_URL": ("", "the public address printed in messages to citizens (e.g. "
                            "https://mpp.kukarkab.go.id)"),
    "NOTIFY_WHATSAPP_URL": ("", "WhatsApp HTTP gateway endpoint; empty = channel off"),
    "NOTIFY_WHATSAPP_TOKEN": ("", "bearer token for the WhatsApp gateway"),
    "NOTIFY_SMS_URL": ("", "SMS HTTP gateway endpoint; empty = channel off"),
    "NOTIFY_SMS_TOKEN": ("", "bearer token for the SMS gateway"),
    "NOTIFY_SENDER": ("", "sender name or number the gateways show"),
    "NOTIFY_GAMMU_CONFIG": ("", "gammu-smsd config file of the hall's GSM modem; empty = "
                                "channel off"),
    "NOTIFY_CALLBACK_SECRET": ("", "HMAC key of the gateways' delivery-status and inbound "
                                   "callbacks; empty = callbacks refused"),
    "NOTIFY_DAILY_LIMIT": ("5", "most messages one number gets per day (WITA)"),
    "NOTIFY_TIMEOUT_SECONDS": ("10", "timeout of one request to a gateway"),
    "NOTIFY_RETRY_SECONDS": ("30", "first wait before retrying a message; doubles per try "
                                   "(at most an hour)"),
    "NOTIFY_MAX_ATTEMPTS": ("8", "tries before a message is failed and shown to the "
                                 "supervisor"),
    "NOTIFY_SENDER_THREAD": ("on", "on or off: each worker sends notifications in a thread "
                                   "(when a channel is set)"),
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
