"""`flask --app wsgi mpp ...`: set-up, migrations, demo data."""
import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from playhouse.migrations import Runner

from .db import database
from .errors import DomainError

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
FIRST_ADMIN_HINT = """No active admin yet. Create the first one with:
  flask --app wsgi mpp create-admin USERNAME [--name "Full Name"]
then sign in at /loket/masuk and open /admin (Pengguna: staff accounts)."""


def migrate() -> list[str]:
    database.connect(reuse_if_open=True)
    try:
        return Runner(database.obj, directory=str(MIGRATIONS)).up()
    finally:
        database.close()


def demo_enabled() -> bool:
    return current_app.config["SETTINGS"]["DEMO"].strip().lower() != "off"


def setup(load_demo: bool | None = None) -> list[str]:
    """Schema up to date, demo data on an empty database unless the `DEMO` setting is
    off (a real installation) or `load_demo` is False. Safe to run on every start."""
    applied = migrate()
    if load_demo is None:
        load_demo = demo_enabled()
    if load_demo:
        from . import demo
        database.connect(reuse_if_open=True)
        try:
            demo.load(current_app.config["SETTINGS"]["DEMO_PASSWORD"])
        finally:
            database.close()
    return applied


def init_app(app):
    group = click.Group("mpp", help="Mini MPP Antrian administration.")

    @group.command("setup")
    @click.option("--no-demo", is_flag=True,
                  help="Do not load the demo data (as DEMO=off does).")
    @with_appcontext
    def setup_command(no_demo):
        """Migrate the schema and load the demo data on an empty database (unless
        DEMO=off or --no-demo)."""
        for name in setup(load_demo=False if no_demo else None):
            click.echo(f"applied {name}")
        click.echo("database ready")
        from .domain import users
        database.connect(reuse_if_open=True)
        try:
            has_admin = users.active_admin_exists()
        finally:
            database.close()
        if not has_admin:
            click.echo(FIRST_ADMIN_HINT)

    @group.command("create-admin")
    @click.argument("username")
    @click.option("--name", default="", help="Full name (default: the username).")
    @click.option("--password-stdin", is_flag=True,
                  help="Read the password from the first line of standard input.")
    @with_appcontext
    def create_admin_command(username, name, password_stdin):
        """Create an administrator account (the first one of a real installation)."""
        from .domain import audit, passwords, users
        if password_stdin:
            password = sys.stdin.readline().rstrip("\r\n")
        else:
            password = click.prompt("Kata sandi (password)", hide_input=True,
                                    confirmation_prompt="Ulangi kata sandi (repeat)")
        reason = passwords.problem(password, username.strip().lower())
        if reason:
            raise click.ClickException(reason)
        migrate()  # the schema first, should setup not have run yet
        database.connect(reuse_if_open=True)
        try:
            created = users.create_user(audit.SYSTEM, current_app.clock.now(), username,
                                        name or username, "admin", password=password)
        except DomainError as exc:
            raise click.ClickException(exc.message) from None
        finally:
            database.close()
        click.echo(f"admin '{created.user.username}' created; sign in at /loket/masuk, "
                   "then open /admin")

    @group.command("unlock-user")
    @click.argument("username")
    @with_appcontext
    def unlock_user_command(username):
        """Unlock an account locked by failed logins (e.g. the only admin)."""
        from .domain import audit, users
        database.connect(reuse_if_open=True)
        try:
            user = users.unlock_user(audit.SYSTEM, current_app.clock.now(), username)
        except DomainError as exc:
            raise click.ClickException(exc.message) from None
        finally:
            database.close()
        click.echo(f"'{user.username}' unlocked (akun dibuka)")

    @group.command("migrate")
    def migrate_command():
        """Apply pending migrations."""
        for name in migrate():
            click.echo(f"applied {name}")

    @group.command("send-mail")
    @with_appcontext
    @click.option("--loop", is_flag=True, help="Keep sending every --interval seconds.")
    @click.option("--interval", default=15.0, show_default=True)
    def send_mail_command(loop, interval):
        """Send the e-mails waiting in the outbox over SMTP (SMTP_* settings)."""
        import time

        from . import mail
        smtp = mail.Smtp.from_settings(current_app.config["SETTINGS"])
        if smtp is None:
            raise click.ClickException("SMTP_HOST is not set.")
        while True:
            database.connect(reuse_if_open=True)
            try:
                counts = mail.send_due(smtp, current_app.clock.now())
            finally:
                database.close()
            click.echo(f"sent {counts['sent']}, retry {counts['retry']}, "
                       f"failed {counts['failed']}")
            if not loop:
                break
            time.sleep(interval)

    @group.command("booking-settings")
    @click.argument("site_code")
    @click.argument("service_code")
    @click.option("--enabled/--disabled", default=None, help="Online booking on or off.")
    @click.option("--slot-minutes", type=click.IntRange(5, 240))
    @click.option("--capacity", type=click.IntRange(0, 500), help="Bookings per slot.")
    @click.option("--walk-in-share", type=click.FloatRange(0, 1),
                  help="Share of the daily quota kept for walk-ins.")
    @click.option("--early-minutes", type=click.IntRange(0, 600))
    @click.option("--grace-minutes", type=click.IntRange(0, 600))
    @click.option("--horizon-days", type=click.IntRange(0, 120))
    @with_appcontext
    def booking_settings_command(site_code, service_code, **values):
        """Show or change how SERVICE is booked online at SITE."""
        from .domain import booking, queueing
        database.connect(reuse_if_open=True)
        try:
            site, service = queueing.get_site(site_code), queueing.get_service(service_code)
            changes = {k: v for k, v in values.items() if v is not None}
            result = (booking.set_settings(site, service, **changes) if changes
                      else booking.settings_for(site, service))
        except Exception as exc:
            raise click.ClickException(getattr(exc, "message", str(exc))) from None
        finally:
            database.close()
        for key, value in vars(result).items():
            click.echo(f"{key}: {value}")
        click.echo(f"day_cap: {result.day_cap}")

    @group.command("forget-appointments")
    @click.option("--days", default=90, show_default=True,
                  help="Clear name, phone and e-mail of appointments, and the numbers of "
                  "settled WhatsApp/SMS messages, older than this.")
    @with_appcontext
    def forget_command(days):
        """Personal data minimisation for past appointments."""
        from .domain import booking
        database.connect(reuse_if_open=True)
        try:
            cleared = booking.forget_old(current_app.clock.now(), days)
        finally:
            database.close()
        click.echo(f"cleared {cleared} appointments")
    @group.command("print-worker")
    @click.option("--once", is_flag=True, help="Send what is due now, then exit.")
    @click.option("--poll", default=1.0, show_default=True, help="Seconds between polls.")
    @with_appcontext
    def print_worker_command(once, poll):
        """Send queued print jobs to network ESC/POS printers (runs until stopped)."""
        from .printing.worker import PrintWorker
        worker = PrintWorker(current_app)
        if once:
            database.connect(reuse_if_open=True)
            try:
                while (outcome := worker.run_once()) is not None:
                    click.echo(outcome)
            finally:
                database.close()
            return
        click.echo(f"print worker {worker.owner} running; Ctrl-C stops it")
        try:
            worker.run(poll_seconds=poll)
        except KeyboardInterrupt:
            worker.stop()


    @group.command("backup")
    @with_appcontext
    def backup_command():
        """Copy this box's database, uploads and key into BACKUP_DIR now (safe while the
        server runs), then remove copies older than BACKUP_KEEP_DAYS."""
        from . import backup
        try:
            archive = backup.make_backup(current_app, current_app.clock.now())
        except backup.BackupError as exc:
            raise click.ClickException(str(exc)) from None
        click.echo(backup.describe(archive))
        for path in backup.prune(current_app, current_app.clock.now()):
            click.echo(f"removed {path.name}")

    @group.command("restore")
    @click.argument("archive", type=click.Path(dir_okay=False, path_type=Path))
    @click.option("--force", is_flag=True,
                  help="Restore even though a server holds this DATA_DIR.")
    @click.option("--skip-numbers", default=100, show_default=True,
                  type=click.IntRange(0, 5000),
                  help="When the copy is from today, today's ticket numbers jump past "
                       "those given after the copy: by as many as the copy had given, "
                       "and at least this many.")
    @with_appcontext
    def restore_command(archive, force, skip_numbers):
        """Bring a copy made by `mpp backup` back into this DATA_DIR (the server stopped);
        what was there is kept in DATA_DIR/before-restore-<time>/."""
        from . import backup
        now = current_app.clock.now()
        try:
            manifest = backup.restore_files(current_app, archive, force, now)
        except backup.BackupError as exc:
            raise click.ClickException(str(exc)) from None
        for name in migrate():
            click.echo(f"applied {name}")
        result = backup.after_restore(manifest, now, skip_numbers)
        click.echo(f"restored {archive.name} (made {manifest['created_at']}): database "
                   f"{manifest['database']['size']} bytes, integrity ok, "
                   f"{manifest['restored_attachments']} attachments, "
                   f"{manifest['outbox_pending']} messages waiting for the centre")
        if result["sequences_skipped"]:
            click.echo(f"today's numbers of {result['sequences_skipped']} sequences jump "
                       f"past the copy's last (twice as far, at least {result['skip']} on), "
                       "over the numbers given after the copy")
        if manifest["kept_aside"]:
            click.echo(f"the previous files are in {manifest['kept_aside']}")

    from .centre_link import register_commands
    register_commands(group)
    from .notify import register_commands as register_notify_commands
    register_notify_commands(group)
    app.cli.add_command(group)
