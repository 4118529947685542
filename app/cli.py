"""`flask --app wsgi mpp ...`: set-up, migrations, demo data."""
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from playhouse.migrations import Runner

from .db import database

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def migrate() -> list[str]:
    database.connect(reuse_if_open=True)
    try:
        return Runner(database.obj, directory=str(MIGRATIONS)).up()
    finally:
        database.close()


def setup(load_demo: bool = True) -> list[str]:
    """Schema up to date, demo data on an empty database. Safe to run on every start."""
    applied = migrate()
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
    @click.option("--no-demo", is_flag=True, help="Do not load the demo data.")
    def setup_command(no_demo):
        """Migrate the schema and load the demo data on an empty database."""
        for name in setup(load_demo=not no_demo):
            click.echo(f"applied {name}")
        click.echo("database ready")

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

        from . import outbox
        smtp = outbox.Smtp.from_settings(current_app.config["SETTINGS"])
        if smtp is None:
            raise click.ClickException("SMTP_HOST is not set.")
        while True:
            database.connect(reuse_if_open=True)
            try:
                counts = outbox.send_due(smtp, current_app.clock.now())
            finally:
                database.close()
            click.echo(f"sent {counts['sent']}, retry {counts['retry']}, "
                       f"failed {counts['failed']}")
            if not loop:
                break
            time.sleep(interval)

    app.cli.add_command(group)
