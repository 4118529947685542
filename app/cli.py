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

    @group.command("print-worker")
    @click.option("--once", is_flag=True, help="Send what is due now, then exit.")
    @click.option("--poll", default=1.0, show_default=True, help="Seconds between polls.")
    @with_appcontext
    def print_worker_command(once, poll):
        """Send queued print jobs to network ESC/POS printers (runs until stopped)."""
        from printers.worker import PrintWorker
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

    app.cli.add_command(group)
