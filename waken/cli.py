"""Flask commands for running waken over SSH."""
import click
from flask import current_app

from waken.db import init_db


@click.command("init-db")
def init_db_command():
    """Create or upgrade the database (safe to run on every start)."""
    init_db(current_app.config["DATABASE"])
    click.echo(f"Database ready at {current_app.config['DATABASE']}")


def init_app(app):
    """Register the commands."""
    app.cli.add_command(init_db_command)
