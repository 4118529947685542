"""`flask --app wsgi mpp ...`: set-up, migrations, demo data."""
from pathlib import Path

import click
from flask import current_app
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

    from .synclink import register_commands
    register_commands(group)
    app.cli.add_command(group)
