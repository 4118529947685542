"""Mini MPP Antrian: the Flask application factory."""
import logging
from pathlib import Path

from flask import Flask

from . import config as settings
from .clock import Clock
from .db import bind, sqlite_url


def create_app(test_config: dict | None = None) -> Flask:
    root = Path(__file__).resolve().parent.parent
    app = Flask(__name__, template_folder=str(root / "templates"),
                static_folder=str(root / "static"))
    env = settings.from_environment()
    overrides = test_config or {}
    env.update({k: v for k, v in overrides.items() if k in settings.SETTINGS})

    data_dir = Path(env["DATA_DIR"]).resolve()
    app.config.update(
        SETTINGS=env,
        DATA_DIR=data_dir,
        ATTACHMENT_DIR=data_dir / "attachments",
        DATABASE_URL=env["DATABASE_URL"] or sqlite_url(data_dir),
        SECRET_KEY=env["SECRET_KEY"] or settings.secret_key_for(data_dir),
        MAX_CONTENT_LENGTH=int(env["MAX_BODY_BYTES"]),
        RATE_LIMITS=env["RATE_LIMITS"].lower() != "off",
        MPP_ROLE=env["MPP_ROLE"],
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_IDLE_MINUTES=int(env["SESSION_IDLE_MINUTES"]),
        SESSION_MAX_HOURS=int(env["SESSION_MAX_HOURS"]),
        TOKEN_LIFETIME_HOURS=float(env["TOKEN_LIFETIME_HOURS"]),
        WTF_CSRF_TIME_LIMIT=None,  # the session's own timeouts bound the token
    )
    app.config.update({k: v for k, v in overrides.items() if k not in settings.SETTINGS})
    app.json.sort_keys = False
    app.clock = Clock.from_environment(env["MPP_CLOCK_START"])
    logging.basicConfig(level=env["LOG_LEVEL"],
                        format="%(asctime)s %(levelname)s %(name)s %(message)s")

    bind(app.config["DATABASE_URL"])
    proxies = int(env["TRUSTED_PROXIES"])
    if proxies:
        from werkzeug.middleware.proxy_fix import ProxyFix
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies,
                                x_host=proxies)

    from . import web
    web.init_app(app)

    from . import centre_link
    centre_link.init_app(app)

    from . import notify as notify_sender
    notify_sender.configure(app)

    import boards.setup
    boards.setup.init_app(app)

    from .views import (
        admin,
        api,
        booking,
        cases,
        cases_api,
        console,
        dashboard,
        kiosk,
        monthly_report,
        notify,
        pages,
        printers,
        reports,
        standards,
        survey,
    )
    from .views import boards as board_views
    for blueprint in (api.bp, kiosk.bp, console.bp, pages.bp, booking.bp, booking.api_bp,
                      printers.bp, cases_api.bp, cases.bp, board_views.bp, admin.bp,
                      standards.bp, survey.bp, dashboard.bp, reports.bp, monthly_report.bp,
                      notify.bp):
        app.register_blueprint(blueprint)

    from . import cli
    cli.init_app(app)

    if (env["SMTP_HOST"] and env["MAIL_SENDER_THREAD"].lower() == "on"
            and not app.config.get("TESTING")):
        from . import mail
        app.extensions["mpp_mail_stop"] = mail.start_sender_thread(app)
    return app
