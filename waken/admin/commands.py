"""The admin's shell commands (create-admin, setup-info), and the log line that announces setup."""
import os
import sqlite3
import sys

import click
from flask import current_app
from flask.cli import with_appcontext

from waken import db, settings
from waken.admin.accounts import (
    admin_exists,
    credentials,
    discard_setup_code,
    save_admin,
    setup_code,
)
from waken.errors import ShellCommand


def base_url():
    """The base URL without a request's Host: the setting, WAKEN_PUBLIC_URL, or the bound host and port."""
    base = settings.get("public_url") or current_app.config["PUBLIC_URL"]
    if base:
        return base.rstrip("/")
    host = os.environ.get("WAKEN_HOST", "0.0.0.0")
    # 0.0.0.0 listens everywhere; a browser on this machine reaches it as localhost.
    host = "localhost" if host in ("0.0.0.0", "::", "") else host
    return f"http://{host}:{os.environ.get('WAKEN_PORT', '8000')}"


def announce_setup():
    """Once per process, while no admin exists, log where to claim this instance and the code."""
    ext = current_app.extensions
    if ext.get("waken_setup_announced"):
        return
    ext["waken_setup_announced"] = True
    try:
        if admin_exists():
            return
    except sqlite3.Error:
        ext["waken_setup_announced"] = False   # no database yet; try again on a later request
        return
    # Never the request's Host: whoever sent the first request must not choose this link.
    current_app.logger.warning("No admin account yet. Open %s/admin/setup and enter the setup code %s",
                               base_url(), setup_code())


@click.command("create-admin", cls=ShellCommand)
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@with_appcontext
def create_admin_command(username, password_stdin):
    """Create an admin, or set a new password for an existing one."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    checked = credentials(username, password)
    with db.write():
        admin, created = save_admin(checked)
    discard_setup_code()
    click.echo(f"{'Created admin' if created else 'New password set for admin'} '{admin.username}'.")


@click.command("setup-info")
@with_appcontext
def setup_info_command():
    """Print the admin setup URL and one-time code while no admin exists."""
    if admin_exists():
        discard_setup_code()
        click.echo("waken: admin already set up; log in at " + base_url() + "/admin/login")
        return
    click.echo("waken: no admin account yet. To claim this instance, open")
    click.echo(f"    {base_url()}/admin/setup")
    click.echo(f"and enter the setup code {setup_code()}")
    click.echo("(or run: flask --app waken create-admin USERNAME)")


COMMANDS = (create_admin_command, setup_info_command)
