"""The link between a hall and the centre: request signing, the centre as the hall sees it
(`HttpCentre`: signed HTTP to CENTRAL_URL; `LocalCentre`: a direct call in all-in-one),
the sender loop with backoff, the
background thread each worker runs, and the `flask mpp sync` / `issue-sync-key` commands.

Signing: HMAC-SHA256 with the hall's own key over
    METHOD \\n PATH?QUERY \\n TIMESTAMP \\n NONCE \\n SHA256(BODY)
sent as X-MPP-Site, X-MPP-Timestamp (unix seconds), X-MPP-Nonce, X-MPP-Signature.
The centre accepts a timestamp within SYNC_WINDOW_SECONDS of its own real clock and a
nonce only once inside that window. Signed timestamps use the real clock, not the
demo clock (MPP_CLOCK_START), so two processes started at different moments agree.
"""
import datetime as dt
import hashlib
import hmac
import json
import logging
import os
import random
import secrets
import time
import uuid
from urllib.parse import quote

import click
import requests

from .clock import UTC
from .db import RoundThread, database
from .domain import (
    booking,
    catalogue_feed,
    forwarding,
    hall_state,  # noqa: F401  (the centre's receiver of a hall's reports)
    link_rows,
    survey,  # noqa: F401  (the centre's receiver of survey answers)
    visits,
)
from .models import Site

log = logging.getLogger("mpp.sync")
SITE_HEADER, TS_HEADER, NONCE_HEADER, SIG_HEADER = (
    "X-MPP-Site", "X-MPP-Timestamp", "X-MPP-Nonce", "X-MPP-Signature")


class LinkError(Exception):
    """The exchange did not happen (or its answer was lost): try again later."""


def real_now() -> dt.datetime:
    return dt.datetime.now(UTC)


def signature(key: str, method: str, path: str, timestamp: str, nonce: str,
              body: bytes) -> str:
    message = "\n".join([method.upper(), path, str(timestamp), nonce,
                         hashlib.sha256(body).hexdigest()]).encode()
    return hmac.new(key.encode(), message, hashlib.sha256).hexdigest()


def signed_headers(site: str, key: str, method: str, path: str, body: bytes = b"",
                   timestamp: int | None = None, nonce: str | None = None) -> dict:
    timestamp = str(int(time.time()) if timestamp is None else timestamp)
    nonce = nonce or secrets.token_hex(16)
    return {SITE_HEADER: site, TS_HEADER: timestamp, NONCE_HEADER: nonce,
            SIG_HEADER: signature(key, method, path, timestamp, nonce, body)}


# --- transports ----------------------------------------------------------------------

class HttpCentre:
    pulls = True

    def __init__(self, base_url: str, site_code: str, key: str, timeout=(5, 120)):
        self.base_url = base_url.rstrip("/")
        self.site_code, self.key, self.timeout = site_code, key, timeout
        self.session = requests.Session()

    def _call(self, method: str, path: str, body: bytes = b"") -> dict:
        headers = signed_headers(self.site_code, self.key, method, path, body)
        if body:
            headers["Content-Type"] = "application/json"
        try:
            response = self.session.request(method, self.base_url + path, data=body,
                                            headers=headers, timeout=self.timeout)
        except requests.RequestException as exc:
            raise LinkError(f"Pusat tidak dapat dihubungi ({type(exc).__name__}).") from None
        if response.status_code != 200:
            try:
                code = response.json()["error"]["code"]
            except (ValueError, KeyError, TypeError):
                code = "-"
            raise LinkError(f"Pusat menjawab HTTP {response.status_code} ({code}).")
        try:
            return response.json()
        except ValueError:
            raise LinkError("Jawaban pusat tidak dapat dibaca.") from None

    def push(self, messages: list[dict]) -> list[dict]:
        body = json.dumps({"messages": messages}, separators=(",", ":")).encode()
        results = self._call("POST", "/api/v1/sync/cases", body).get("results")
        if not isinstance(results, list):
            raise LinkError("Jawaban pusat tidak lengkap.")
        return results

    def updates(self, since: int, limit: int, catalogue: int = 0,
                pulse: dict | None = None) -> dict:
        """A page of the hall's feed; `catalogue` tells the centre which catalogue
        version this hall runs, `pulse` how the hall is doing (`visits.pulse`)."""
        extra = "".join(f"&{key}={quote(str(value))}" for key, value in (pulse or {}).items())
        page = self._call("GET", f"/api/v1/sync/updates?since={int(since)}&limit={int(limit)}"
                                 f"&catalogue={int(catalogue)}{extra}")
        if not isinstance(page.get("updates"), list) or not isinstance(page.get("cursor"), int):
            raise LinkError("Jawaban pusat tidak lengkap.")
        return page


class LocalCentre:
    """all-in-one: the centre's receiver called directly; nothing to pull, because the
    centre's changes are made to the same rows the hall reads."""
    pulls = False

    def __init__(self, app):
        self.app = app

    def push(self, messages: list[dict]) -> list[dict]:
        site_code = json.loads(messages[0]["body"])["site"]
        site = Site.get(Site.code == site_code)
        return forwarding.receive_batch(site, messages, self.app.clock.now(),
                                    self.app.config["ATTACHMENT_DIR"],
                                    int(self.app.config["SETTINGS"]["UPLOAD_MAX_BYTES"]))


def centre_for(app):
    settings = app.config["SETTINGS"]
    if app.config["MPP_ROLE"] == "site":
        if not settings["CENTRAL_URL"] or not settings["SYNC_SECRET"]:
            raise LinkError("CENTRAL_URL dan SYNC_SECRET belum diatur.")
        if not own_sites(app):
            raise LinkError("MPP_SITES harus berisi kode lokasi aula ini (mis. tabang).")
        return HttpCentre(settings["CENTRAL_URL"], own_sites(app)[0],
                             settings["SYNC_SECRET"])
    return LocalCentre(app)


def own_sites(app) -> list[str]:
    text = app.config["SETTINGS"]["MPP_SITES"]
    return [] if text.strip() == "all" else [c.strip() for c in text.split(",") if c.strip()]


# --- one pass ------------------------------------------------------------------------

def sync_site(app, site: Site, centre, batch: int | None = None, renew=None) -> dict:
    """Send everything waiting for `site` (oldest first, in batches), then pull its
    updates. Raises LinkError when the link fails; what was acknowledged stays so."""
    settings = app.config["SETTINGS"]
    batch = batch or int(settings["SYNC_BATCH"])
    max_bytes = int(settings["SYNC_MAX_BODY_BYTES"]) // 2
    store = app.config["ATTACHMENT_DIR"]
    stats = {"delivered": 0, "refused": 0, "updates": 0}
    if app.config["MPP_ROLE"] == "site":  # no-shows are decided at the hall, link or not
        booking.sweep_no_shows(site, app.clock.now())
        visits.refresh(app.clock.now())  # the facts that moved join the outbox
    while True:
        if renew is not None and not renew():
            return stats  # another sender holds the hall's lease now
        rows = forwarding.pending(site.id, batch)
        if not rows:
            break
        payload, size = [], 0
        for row in rows:
            try:
                message = forwarding.wire_message(row, store)
            except OSError:
                forwarding.record_results(site.id, [{"id": row.message_id, "status": "refused",
                                                 "code": "file_missing"}], app.clock.now())
                stats["refused"] += 1
                continue
            weight = len(message["body"]) + len(message.get("content", ""))
            if payload and size + weight > max_bytes:
                break
            payload.append(message)
            size += weight
        if not payload:
            continue
        sent = {json.loads(m["body"])["id"] for m in payload}
        results = [r for r in centre.push(payload)
                   if isinstance(r, dict) and r.get("id") in sent]
        counts = forwarding.record_results(site.id, results, app.clock.now())
        stats["delivered"] += counts["delivered"]
        stats["refused"] += counts["refused"]
        if len(results) < len(payload):
            raise LinkError("Pusat tidak mengakui semua pesan.")
    if centre.pulls:
        cursor = forwarding.updates_cursor(site.id)
        pulse = visits.pulse(site, app.clock.now())
        while True:
            page = centre.updates(cursor, 500, catalogue_feed.running_version(site), pulse)
            pulse = None
            if page["cursor"] <= cursor:
                break
            stats["updates"] += forwarding.apply_updates(site, page["updates"], page["cursor"],
                                                     app.clock.now())
            cursor = page["cursor"]
            if not page.get("more"):
                break
    forwarding.record_success(site.id, app.clock.now())
    return stats


def sites_to_sync(app) -> list[Site]:
    if app.config["MPP_ROLE"] == "site":
        codes = own_sites(app)[:1]
        return list(Site.select().where(Site.code.in_(codes)))
    return list(Site.select().where(Site.id.in_(forwarding.sites_with_pending())))


def backoff_seconds(failures: int, ceiling: float) -> float:
    return min(ceiling, 0.5 * 2 ** min(failures, 10)) * random.uniform(0.7, 1.0)


# --- the background sender -----------------------------------------------------------

class Sender(RoundThread):
    """The link's sender of a worker: woken when a message goes on the outbox."""

    first_delay = 0.2

    def __init__(self, app):
        super().__init__(app, "mpp-sync-sender", link_rows.OUTBOX_LISTENERS, log)
        self.owner = f"{os.getpid()}:{uuid.uuid4().hex[:12]}"
        settings = app.config["SETTINGS"]
        self.interval = float(settings["SYNC_INTERVAL_SECONDS"])
        self.after_failure = float(settings["SYNC_MAX_BACKOFF_SECONDS"])

    def round(self) -> float:
        return self.pass_once(self.interval, self.after_failure)

    def pass_once(self, interval: float, ceiling: float) -> float:
        delay = interval
        try:
            centre = centre_for(self.app)
        except LinkError as exc:
            log.warning("sync sender idle: %s", exc)
            return ceiling
        for site in sites_to_sync(self.app):
            if not self.lease(site):
                continue
            try:
                sync_site(self.app, site, centre, renew=lambda: self.lease(site))
            except LinkError as exc:
                failures = forwarding.record_failure(site.id, str(exc), self.app.clock.now())
                delay = backoff_seconds(failures, ceiling)
                log.warning("sync with the centre failed for %s (%d in a row): %s",
                            site.code, failures, exc)
        return delay


    def lease(self, site) -> bool:
        return forwarding.take_lease(site.id, self.owner, real_now(), owner_is_dead=_dead_owner)


def _dead_owner(owner: str) -> bool:
    """A lease held by a process of this box that no longer runs (hall restarted)."""
    pid = owner.partition(":")[0]
    if not pid.isdecimal():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


_sender = {"instance": None}


def start_sender(app):
    """Called in each gunicorn worker (gunicorn.conf.py post_worker_init)."""
    if app.config["MPP_ROLE"] not in ("site", "all-in-one"):
        return None
    if app.config["SETTINGS"]["SYNC_SENDER"].lower() == "off":
        return None
    if _sender["instance"] is None:
        _sender["instance"] = Sender(app).start()
    return _sender["instance"]


# --- wiring --------------------------------------------------------------------------

def init_app(app):
    link_rows.configure(app.config["MPP_ROLE"], own_sites(app))
    # peewee's DEBUG log prints query parameters, which include NIK and phone numbers
    # (UU 27/2022 PDP): never below INFO, whatever LOG_LEVEL says.
    peewee_log = logging.getLogger("peewee")
    peewee_log.setLevel(max(peewee_log.getEffectiveLevel(), logging.INFO))
    app.config["SYNC_KEYS_PARSED"] = forwarding.keys_from_setting(
        app.config["SETTINGS"]["SYNC_KEYS"])


def register_commands(group):
    from flask import current_app
    from flask.cli import with_appcontext

    @group.command("sync")
    @with_appcontext
    def sync_command():
        """Send the outbox to the centre and pull updates, once."""
        app = current_app._get_current_object()
        database.connect(reuse_if_open=True)
        try:
            centre = centre_for(app)
            for site in sites_to_sync(app):
                try:
                    stats = sync_site(app, site, centre)
                except LinkError as exc:
                    forwarding.record_failure(site.id, str(exc), app.clock.now())
                    raise click.ClickException(f"{site.code}: {exc}") from None
                click.echo(f"{site.code}: delivered {stats['delivered']}, refused "
                           f"{stats['refused']}, updates {stats['updates']}")
        except LinkError as exc:
            raise click.ClickException(str(exc)) from None
        finally:
            database.close()

    @group.command("issue-sync-key")
    @click.argument("site_code")
    @with_appcontext
    def issue_sync_key(site_code):
        """At the centre: issue (or replace) a hall's key; prints it once."""
        app = current_app._get_current_object()
        database.connect(reuse_if_open=True)
        try:
            site = Site.get_or_none(Site.code == site_code)
            if site is None:
                raise click.ClickException(f"unknown site {site_code}")
            key = forwarding.issue_key(site, app.clock.now())
        finally:
            database.close()
        click.echo(key)
