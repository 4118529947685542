"""Sending notifications to citizens: the channels and the sender. Rows are written by
`app.domain.notify` in the transaction of their event; this module delivers them.

Channels, one interface (`send(row) -> gateway reference`, raising `Retry` for a try
that may work later and `Refused` for one that never will):
- `HttpGateway`: a WhatsApp or SMS HTTP gateway (`NOTIFY_WHATSAPP_URL` / `_TOKEN`,
  `NOTIFY_SMS_URL` / `_TOKEN`, `NOTIFY_SENDER`). POST JSON `{"id","to","text","sender"}`
  with `Authorization: Bearer <token>` and `Idempotency-Key: <the row's key>`: a gateway
  that sees the same key twice sends once.
- `GammuSmsd`: a GSM modem at the hall through Gammu's SMS daemon
  (`NOTIFY_GAMMU_CONFIG`): `gammu-smsd-inject` puts the message in the daemon's outbox;
  works with no internet. `read_gammu_inbox` reads the daemon's inbox (files backend)
  for BERHENTI/STOP replies.
- e-mail stays the mail outbox (`app.mail`): bookings with an address get their e-mail.

The sender (`send_due`, one thread per worker from gunicorn.conf.py, or
`flask mpp notify`): each row is claimed with a lease (`notify.claim`, which also applies
the opt-out, quiet hours and the daily limit), tried on the first channel, on the next
channel only when one refuses it for good, retried with a doubling delay, `failed` after
NOTIFY_MAX_ATTEMPTS. A gateway that is down or slow holds only this thread: kiosks,
consoles and bookings write a row and go on.

Callbacks from a gateway (delivery status, inbound replies) are signed:
HMAC-SHA256 with NOTIFY_CALLBACK_SECRET over `TIMESTAMP \\n NONCE \\n SHA256(BODY)`, sent
as X-Notify-Timestamp (unix seconds), X-Notify-Nonce, X-Notify-Signature; a timestamp
outside SYNC_WINDOW_SECONDS or a nonce seen before is refused.
"""
import datetime as dt
import hashlib
import hmac
import logging
import os
import subprocess
import time
from pathlib import Path

import requests

from .clock import UTC
from .db import RoundThread, database
from .domain import contact, link_rows
from .domain import notify as rules
from .errors import Invalid

log = logging.getLogger("mpp.notify")
TS_HEADER, NONCE_HEADER, SIG_HEADER = ("X-Notify-Timestamp", "X-Notify-Nonce",
                                       "X-Notify-Signature")


class Retry(Exception):
    """This try failed; a later one may work (timeout, 5xx, modem busy)."""


class Refused(Exception):
    """The channel will never send this one (4xx: bad number, not on WhatsApp)."""


# --- channels --------------------------------------------------------------------------

class HttpGateway:
    def __init__(self, name: str, url: str, token: str, sender: str = "",
                 timeout: float = 10.0):
        self.name, self.url, self.token, self.sender = name, url, token, sender
        self.timeout = timeout
        self.session = requests.Session()

    def send(self, row) -> str:
        headers = {"Idempotency-Key": row.key, "Content-Type": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        payload = {"id": row.key, "to": row.phone, "text": row.body, "sender": self.sender}
        try:
            response = self.session.post(self.url, json=payload, headers=headers,
                                         timeout=self.timeout)
        except requests.RequestException as exc:
            raise Retry(f"{self.name}: {type(exc).__name__}") from None
        if response.status_code in (408, 425, 429) or response.status_code >= 500:
            raise Retry(f"{self.name}: HTTP {response.status_code}")
        if response.status_code >= 400:
            raise Refused(f"{self.name}: HTTP {response.status_code} "
                          f"{response.text[:200]}")
        if response.status_code >= 300:
            raise Retry(f"{self.name}: HTTP {response.status_code}")
        try:
            reference = response.json().get("id") or row.key
        except (ValueError, AttributeError):
            reference = row.key
        return str(reference)


class GammuSmsd:
    """Gammu's SMS daemon at the hall: the message goes into its outbox; the daemon
    (with the modem) sends it. `gammu-smsd-inject` must be on PATH."""
    name = "gammu"

    def __init__(self, config: str, timeout: float = 20.0):
        self.config, self.timeout = config, timeout

    def send(self, row) -> str:
        command = ["gammu-smsd-inject", "-c", self.config, "TEXT", row.phone,
                   "-len", str(max(160, len(row.body.encode()))), "-text", row.body]
        try:
            done = subprocess.run(command, capture_output=True, text=True,
                                  timeout=self.timeout, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise Retry(f"gammu: {type(exc).__name__}") from None
        if done.returncode != 0:
            raise Retry(f"gammu: {(done.stderr or done.stdout).strip()[-200:]}")
        for line in done.stdout.splitlines():
            if "ID" in line:
                return line.rsplit(" ", 1)[-1].strip()[:80]
        return row.key


def channels_from_settings(env: dict) -> list:
    timeout = float(env.get("NOTIFY_TIMEOUT_SECONDS") or 10)
    found = []
    if env.get("NOTIFY_WHATSAPP_URL"):
        found.append(HttpGateway("whatsapp", env["NOTIFY_WHATSAPP_URL"],
                                 env.get("NOTIFY_WHATSAPP_TOKEN", ""),
                                 env.get("NOTIFY_SENDER", ""), timeout))
    if env.get("NOTIFY_SMS_URL"):
        found.append(HttpGateway("sms", env["NOTIFY_SMS_URL"], env.get("NOTIFY_SMS_TOKEN", ""),
                                 env.get("NOTIFY_SENDER", ""), timeout))
    if env.get("NOTIFY_GAMMU_CONFIG"):
        found.append(GammuSmsd(env["NOTIFY_GAMMU_CONFIG"], max(timeout, 5.0)))
    return found


def this_node_sends() -> str:
    """Which rows this node sends: a hall's box its own (`hall`), else the centre's."""
    return "hall" if link_rows.role() == "site" else "centre"


# --- the sender ------------------------------------------------------------------------

def try_channels(row, channels: list) -> tuple[str, str, str]:
    """One try of one row: (what, channel, detail), `what` being sent, retry or failed.
    The next channel is tried only when one refuses the message for good; a try that
    may work later stays on its channel (a timeout may still have been delivered)."""
    names = [c.name for c in channels]
    start = names.index(row.channel) if row.channel in names else 0
    last = ""
    for channel in channels[start:]:
        try:
            return "sent", channel.name, channel.send(row)
        except Refused as exc:
            log.warning("notification %s to %s refused by %s: %s", row.id,
                        contact.mask_phone(row.phone), channel.name, exc)
            last = str(exc)
        except Retry as exc:
            log.info("notification %s attempt %s failed: %s", row.id, row.attempts, exc)
            return "retry", channel.name, str(exc)
    return "failed", channels[-1].name, last


def send_due(channels: list, now: dt.datetime, limit: int = 50,
             owner: str | None = None) -> dict:
    """Deliver one batch of what is due for this node: claimed in one transaction,
    recorded in one. A channel that fails with a try-later error ends the batch: the
    rest is given back untouched (a gateway that is down is not asked fifty times).
    Returns counts: sent, retry, failed."""
    counts = {"sent": 0, "retry": 0, "failed": 0}
    if not channels:
        return counts
    # the lease outlasts the batch even if every message took the whole timeout
    longest = max(getattr(c, "timeout", 20.0) for c in channels) * len(channels)
    rows = rules.claim_batch(owner or this_node_sends(), now, limit,
                             dt.timedelta(seconds=60 + limit * longest))
    outcomes = []
    for index, row in enumerate(rows):
        what, channel, detail = try_channels(row, channels)
        outcomes.append((row, what, channel, detail))
        if what == "retry":
            outcomes.extend((rest, "released", "", "") for rest in rows[index + 1:])
            break
    if outcomes:
        done = rules.record_outcomes(outcomes, now)
        counts.update({k: done[k] for k in counts})
    return counts


class Sender(RoundThread):
    """The notification sender of a worker: woken when a message is written."""

    def __init__(self, app, channels: list, interval: float = 5.0):
        super().__init__(app, "mpp-notify", rules.LISTENERS, log)
        self.channels = channels
        self.first_delay = self.after_failure = self.interval = interval

    def round(self) -> float:
        counts = send_due(self.channels, self.app.clock.now())
        config = self.app.config["SETTINGS"].get("NOTIFY_GAMMU_CONFIG")
        if config:
            read_gammu_inbox(config, self.app.clock.now())
        # more may be due: go on at once, unless the gateway asked to wait
        busy = counts["retry"] == 0 and counts["sent"] + counts["failed"] > 0
        return 0 if busy else self.interval


_sender = {"instance": None}


def configure(app) -> None:
    """Wire the domain's settings (create_app calls this)."""
    env = app.config["SETTINGS"]
    # A hall's own address is on its LAN only: its messages link to the centre's.
    rules.configure(base_url=env["PUBLIC_BASE_URL"] or env["CENTRAL_URL"],
                    daily_limit=int(env["NOTIFY_DAILY_LIMIT"]),
                    hall_channel=bool(channels_from_settings(env)),
                    retry_seconds=float(env["NOTIFY_RETRY_SECONDS"]),
                    max_attempts=int(env["NOTIFY_MAX_ATTEMPTS"]))


def start_sender(app):
    """Called in each gunicorn worker (gunicorn.conf.py post_worker_init)."""
    env = app.config["SETTINGS"]
    channels = channels_from_settings(env)
    if not channels or env["NOTIFY_SENDER_THREAD"].lower() == "off":
        return None
    if _sender["instance"] is None:
        _sender["instance"] = Sender(app, channels).start()
    return _sender["instance"]


# --- Gammu's inbox: replies to the modem ---------------------------------------------------

def gammu_inbox_path(config: str) -> Path | None:
    import configparser
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read(config)
        return Path(parser.get("smsd", "inboxpath"))
    except (configparser.Error, OSError):
        return None


def read_gammu_inbox(config: str, now: dt.datetime) -> int:
    """Replies the modem received (files backend: IN<date>_<time>_<n>_<number>_<m>.txt):
    BERHENTI/STOP stops that number. Each file is read once, then moved aside."""
    inbox = gammu_inbox_path(config)
    if inbox is None or not inbox.is_dir():
        return 0
    done = inbox / "read"
    handled = 0
    for path in sorted(inbox.glob("IN*.txt")):
        parts = path.stem.split("_")
        sender = parts[3] if len(parts) >= 5 else ""
        text = path.read_text(errors="replace")
        try:
            rules.inbound({"from": sender, "text": text}, now, source="gammu")
        except Invalid:
            pass  # not an Indonesian mobile number: nothing to stop
        done.mkdir(exist_ok=True)
        os.replace(path, done / path.name)
        handled += 1
    return handled


# --- signed callbacks ----------------------------------------------------------------------

def callback_signature(secret: str, timestamp: str, nonce: str, body: bytes) -> str:
    message = "\n".join([str(timestamp), nonce, hashlib.sha256(body).hexdigest()]).encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signed_callback_headers(secret: str, body: bytes, timestamp: int | None = None,
                            nonce: str | None = None) -> dict:
    """What a gateway sends (tests and the bench use it too)."""
    import secrets
    timestamp = str(int(time.time()) if timestamp is None else timestamp)
    nonce = nonce or secrets.token_hex(16)
    return {TS_HEADER: timestamp, NONCE_HEADER: nonce,
            SIG_HEADER: callback_signature(secret, timestamp, nonce, body),
            "Content-Type": "application/json"}


def verify_callback(secret: str, headers, body: bytes, window_seconds: int) -> None:
    """Refuse (401) an unsigned, badly signed or stale callback, (409) a replayed one."""
    if not secret:
        raise Invalid("Callback belum diaktifkan (NOTIFY_CALLBACK_SECRET).",
                      code="callbacks_off", status=401)
    timestamp, nonce = headers.get(TS_HEADER, ""), headers.get(NONCE_HEADER, "")
    given = headers.get(SIG_HEADER, "")
    if not (timestamp and nonce and given) or not timestamp.isdecimal():
        raise Invalid("Tanda tangan wajib ada.", code="invalid_signature", status=401)
    expected = callback_signature(secret, timestamp, nonce, body)
    if not hmac.compare_digest(expected, given):
        raise Invalid("Tanda tangan tidak cocok.", code="invalid_signature", status=401)
    real_now = dt.datetime.now(UTC)
    if abs(real_now.timestamp() - int(timestamp)) > window_seconds:
        raise Invalid("Waktu permintaan di luar batas.", code="stale_request", status=401)
    rules.remember_nonce(nonce, real_now, window_seconds)


# --- the command -----------------------------------------------------------------------------

def register_commands(group):
    import click
    from flask import current_app
    from flask.cli import with_appcontext

    @group.command("notify")
    @click.option("--loop", is_flag=True, help="Keep sending every --interval seconds.")
    @click.option("--interval", default=5.0, show_default=True)
    @with_appcontext
    def notify_command(loop, interval):
        """Send the notifications due from this node (NOTIFY_* channels); read Gammu's
        inbox for BERHENTI replies."""
        app = current_app._get_current_object()
        env = app.config["SETTINGS"]
        channels = channels_from_settings(env)
        if not channels:
            raise click.ClickException("No channel: set NOTIFY_WHATSAPP_URL, NOTIFY_SMS_URL "
                                       "or NOTIFY_GAMMU_CONFIG.")
        while True:
            database.connect(reuse_if_open=True)
            try:
                counts = send_due(channels, app.clock.now(), limit=500)
                if env["NOTIFY_GAMMU_CONFIG"]:
                    read_gammu_inbox(env["NOTIFY_GAMMU_CONFIG"], app.clock.now())
            finally:
                database.close()
            click.echo(f"sent {counts['sent']}, retry {counts['retry']}, "
                       f"failed {counts['failed']}")
            if not loop:
                break
            if counts["retry"] or counts["sent"] + counts["failed"] == 0:
                time.sleep(interval)  # nothing more due now, or the gateway asked to wait
