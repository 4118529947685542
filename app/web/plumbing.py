"""Request plumbing shared by every blueprint: connection per request, CSRF, login,
security headers, the one error handler (JSON for the API, HTML for pages), and the
session's idle and absolute timeouts.

A signed-in session is a row on the server (`accounts.start_session`): the cookie holds
its random id next to Flask-Login's user id, and every request that asks who is signed
in checks the row, so a cookie saved before a logout, a password change or a disabled
account signs nobody in (pages, console actions and the console websocket alike)."""
import datetime as dt
import logging
import time
import uuid

import peewee
from flask import current_app, flash, g, jsonify, make_response, redirect, request, session
from flask.sessions import SecureCookieSessionInterface
from flask_login import LoginManager, login_url, login_user, logout_user
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.exceptions import HTTPException

from printers.qr import qr_svg_data_uri

from ..db import close_read_scope, database, open_read_scope, ready
from ..domain import accounts
from ..errors import DomainError
from ..models import User
from .responses import htmx, page_or_fragment

log = logging.getLogger("mpp.web")
# Endpoints that answer without a database connection (liveness, the API document, and
# readiness, which opens and checks its own): they must answer while the database is down.
DATABASE_FREE = frozenset({"api.healthz", "api.readyz", "api.openapi", "static"})
csrf = CSRFProtect()
login_manager = LoginManager()
login_manager.login_view = "console.login"
login_manager.login_message = "Silakan masuk terlebih dahulu."

CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
       "media-src 'self' blob: data:; connect-src 'self'; object-src 'none'; "
       "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")

ERROR_TITLES = {400: "Permintaan tidak valid", 401: "Perlu masuk", 403: "Tidak diizinkan",
                404: "Tidak ditemukan", 405: "Metode tidak diizinkan",
                409: "Tidak dapat diproses", 413: "Data terlalu besar",
                415: "Format tidak didukung", 422: "Data tidak valid",
                429: "Terlalu banyak permintaan"}
HTTP_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
              405: "method_not_allowed", 409: "conflict", 413: "payload_too_large",
              415: "unsupported_media_type", 422: "invalid", 429: "too_many_requests"}


class SessionInterface(SecureCookieSessionInterface):
    """Secure cookies whenever the request came over TLS (ProxyFix sets the scheme).

    A request without a session cookie (kiosks, token API calls, boards) gets its empty
    session without building the cookie signer first: Flask's own answer in that case,
    minus the per-request serializer."""

    def get_cookie_secure(self, app):
        return request.is_secure

    def open_session(self, app, request):
        if app.secret_key and not request.cookies.get(self.get_cookie_name(app)):
            return self.session_class()
        return super().open_session(app, request)


def may_be_signed_in() -> bool:
    """False when the request carries neither a signed-in session nor a Flask-Login
    remember cookie: then nobody is signed in, and Flask-Login need not be asked (it
    would hash the client's address and agent for its session protection first). The
    app defines no request or header loader, so these two are the only ways in."""
    return "_user_id" in session or (
        current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token") in request.cookies)


def wants_json() -> bool:
    return request.path.startswith("/api/") or (
        request.accept_mimetypes.best == "application/json")


def error_response(status: int, code: str, message: str, **detail):
    if wants_json():
        body = {"error": {"code": code, "message": message}}
        if detail:
            body["error"]["detail"] = detail
        return jsonify(body), status
    return page_or_fragment("error.html", "_partials/error.html", status=status,
                            title=ERROR_TITLES.get(status, "Galat"), message=message,
                            code=code), status


def init_app(app):
    app.session_interface = SessionInterface()
    csrf.init_app(app)
    htmx.init_app(app)
    login_manager.init_app(app)

    @login_manager.user_loader
    def load_user(user_id):
        try:
            user = accounts.user_for_session(session.get(SESSION_KEY, ""), int(user_id),
                                             app.clock.now())
        except ValueError:
            return None
        return LoginUser(user) if user else None

    @login_manager.unauthorized_handler
    def sign_in_first():
        """To the login page. A page refreshing itself with htmx (the dashboards) after
        the session ended must leave the page, not show the login form inside a tile."""
        flash(login_manager.login_message, login_manager.login_message_category)
        if htmx:
            page = request.headers.get("HX-Current-URL", "")
            back = page if page.startswith(request.host_url) else request.url
            response = make_response("", 401)
            response.headers["HX-Redirect"] = login_url(login_manager.login_view, back)
            return response
        return redirect(login_url(login_manager.login_view, request.url))

    from ..clock import to_local

    app.add_template_global(qr_svg_data_uri, "qr_svg_uri")

    @app.template_filter("wita")
    def wita(moment, pattern="%H:%M"):
        return to_local(moment).strftime(pattern) if moment else ""

    @app.context_processor
    def server_clock():
        return {"server_now_ms": int(app.clock.now().timestamp() * 1000)}

    @app.before_request
    def open_connection():
        g.request_started = time.perf_counter()
        if request.endpoint not in DATABASE_FREE:
            open_read_scope()
            database.connect(reuse_if_open=True)

    @app.before_request
    def enforce_session_timeouts():
        if "_user_id" not in session:
            return
        now = time.time()
        idle = app.config["SESSION_IDLE_MINUTES"] * 60
        absolute = app.config["SESSION_MAX_HOURS"] * 3600
        if now - session.get("seen", now) > idle or now - session.get("since", now) > absolute:
            sign_out()
            return
        session.setdefault("since", now)
        if now - session.get("seen", 0) > 30:  # don't rewrite the cookie on every poll
            session["seen"] = now

    @app.teardown_request
    def close_connection(_exc):
        close_read_scope()
        if not database.is_closed():
            database.close()

    @app.after_request
    def security_headers(response):
        if response.status_code == 429 and "Retry-After" not in response.headers:
            response.headers["Retry-After"] = "60"  # every 429 says when to come back
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Referrer-Policy"] = "same-origin"
        if request.is_secure:
            response.headers["Strict-Transport-Security"] = "max-age=31536000"
        return response

    @app.errorhandler(DomainError)
    def domain_error(exc: DomainError):
        return with_retry_after(error_response(exc.status, exc.code, exc.message,
                                               **exc.detail), exc)

    @app.errorhandler(CSRFError)
    def csrf_error(exc):
        return error_response(400, "csrf_failed",
                              "Sesi formulir kedaluwarsa. Muat ulang halaman lalu coba lagi.")

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        status = exc.code or 500
        if status >= 500:
            return unexpected(exc)
        message = {404: "Alamat tidak ditemukan.",
                   405: "Metode ini tidak diizinkan untuk alamat ini.",
                   413: "Data yang dikirim terlalu besar."}.get(status) or exc.description
        response = make_response(error_response(status, HTTP_CODES.get(status, "error"),
                                                message))
        allowed = getattr(exc, "valid_methods", None)
        if status == 405 and allowed:  # RFC 9110: a 405 names the methods that work
            response.headers["Allow"] = ", ".join(sorted(set(allowed) | {"OPTIONS"}))
        return response

    @app.errorhandler(Exception)
    def unexpected(exc):
        if isinstance(exc, (peewee.OperationalError, peewee.InterfaceError)) and (
                not _database_answers()):
            log.error("database unavailable: %s %s: %s", request.method, request.path, exc)
            response = make_response(error_response(
                503, "database_unavailable", "Basis data sedang tidak dapat dihubungi. "
                "Coba lagi sebentar lagi. (Database unavailable.)"))
            response.headers["Retry-After"] = "5"
            return response
        incident = uuid.uuid4().hex[:12]
        log.exception("unexpected error, incident %s, %s %s", incident, request.method,
                      request.path)
        if not database.is_closed() and database.in_transaction():
            database.rollback()
        return error_response(500, "internal_error",
                              f"Terjadi kesalahan pada sistem. Kode insiden: {incident}.",
                              incident=incident)


SESSION_KEY = "sid"


def sign_in(user) -> None:
    """A new server-side session for `user` in a fresh cookie (login, and after one's own
    password change, which ended every other session). A session this browser still
    held ends first."""
    accounts.end_session(session.get(SESSION_KEY, ""))
    session.clear()
    lifetime = dt.timedelta(hours=current_app.config["SESSION_MAX_HOURS"])
    session[SESSION_KEY] = accounts.start_session(user, current_app.clock.now(), lifetime)
    login_user(LoginUser(user))
    session["since"] = session["seen"] = time.time()


def sign_out() -> None:
    """Logout: the server forgets the session, the cookie is emptied."""
    accounts.end_session(session.get(SESSION_KEY, ""))
    logout_user()
    session.clear()


def with_retry_after(answer, exc: DomainError):
    """An error answer with its Retry-After header when the error says how long to wait."""
    wait = exc.detail.get("retry_after")
    if not wait:
        return answer
    response = current_app.make_response(answer)
    response.headers["Retry-After"] = str(int(wait))
    return response


def _database_answers() -> bool:
    """After a connection-level error: is the database there at all? (A 503 when not,
    so that clients and proxies retry instead of reporting a bug.)"""
    try:
        if not database.is_closed() and database.in_transaction():
            database.rollback()
    except peewee.DatabaseError:
        pass
    return ready()


class LoginUser:
    """Flask-Login's view of a User row."""

    def __init__(self, user: User):
        self.user = user
        self.is_authenticated = True
        self.is_active = user.active
        self.is_anonymous = False

    def get_id(self):
        return str(self.user.id)
