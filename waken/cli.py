"""Flask commands, so that a headless Pi can be run over SSH."""
import json
import os
import sqlite3

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from waken import db, settings
from waken.admin.commands import COMMANDS as ADMIN_COMMANDS
from waken.agent_log.price_commands import price_cli
from waken.alerts.commands import alert_cli
from waken.auth.tokens import SCOPES, create_token, delete_token, set_token_enabled
from waken.db import orm
from waken.devices.registry import (
    create_device,
    delete_device,
    get_device,
    set_device_status,
    set_device_token,
)
from waken.devices.rule_commands import app_rule_cli, rule_cli
from waken.errors import ShellGroup
from waken.feed.status_commands import status_cli
from waken.migrate import init_db, make_private
from waken.models import ApiToken, Device
from waken.timeutil import iso

token_cli = ShellGroup("token", help="Manage API tokens.")
device_cli = ShellGroup("device", help="Manage devices.")
settings_cli = ShellGroup("settings", help="Read and change settings.")


@click.command("init-db")
@with_appcontext
def init_db_command():
    """Create or upgrade the database (safe to run on every start)."""
    init_db(current_app.config["DATABASE"])
    instance = current_app.instance_path
    make_private(*(os.path.join(instance, name) for name in (
        "secret_key", "setup_code", "limits.sqlite", "limits.sqlite-wal", "limits.sqlite-shm",
        "limits.sqlite-tokens")))
    click.echo(f"Database ready at {current_app.config['DATABASE']}")


@token_cli.command("create")
@click.argument("name")
@click.option("--scope", "scopes", multiple=True, type=click.Choice(tuple(SCOPES)),
              help="What the token may do; repeat for several. Without --scope: all of them.")
def token_create(name, scopes):
    """Mint a token; prints its id, then the plaintext token as the last line."""
    with db.write():
        token, plaintext = create_token(name, scopes)
    click.echo(f"Created token {token.id} ({token.name}, scopes: {', '.join(token.scopes.split())}). "
               "It is shown once; store it now:")
    click.echo(plaintext)


@token_cli.command("list")
def token_list():
    """List tokens (never their secrets)."""
    for t in orm.session.scalars(select(ApiToken).order_by(ApiToken.id)):
        state = "enabled" if t.enabled else "disabled"
        click.echo(f"{t.id}\t{t.name}\t{t.prefix}…\t{state}\tscopes {','.join(t.scopes.split())}"
                   f"\tcreated {iso(t.created_at)}"
                   f"\tlast used {iso(t.last_used_at) or 'never'}")


@token_cli.command("disable")
@click.argument("token_id", type=int)
def token_disable(token_id):
    """Disable a token: reports with it get 401."""
    _set_enabled(token_id, False)


@token_cli.command("enable")
@click.argument("token_id", type=int)
def token_enable(token_id):
    """Enable a token again."""
    _set_enabled(token_id, True)


def _set_enabled(token_id, enabled):
    with db.write():
        set_token_enabled(token_id, enabled)
    click.echo(f"Token {token_id} {'enabled' if enabled else 'disabled'}.")


@token_cli.command("delete")
@click.argument("token_id", type=int)
def token_delete(token_id):
    """Delete a token; devices bound to it get 403 until they are bound again or unbound."""
    with db.write():
        delete_token(token_id)
    click.echo(f"Token {token_id} deleted.")


@device_cli.command("create")
@click.argument("name")
@click.option("--key", help="A custom GeneratedHashKey (8-128 characters); random when omitted.")
@click.option("--token", "token_id", type=int, help="Bind the device to this token id.")
def device_create(name, key, token_id):
    """Add an active device; prints its key as the last line."""
    with db.write():
        device = create_device(name, key=key, token_id=token_id)
    click.echo(f"Created device '{device.name}'. Its GeneratedHashKey:")
    click.echo(device.hash_key)


@device_cli.command("list")
def device_list():
    """List devices."""
    for d in orm.session.scalars(select(Device).order_by(Device.id)):
        click.echo(f"{d.hash_key}\t{d.name}\t{d.status}\ttoken {d.token_id or '-'}"
                   f"\t{d.device_type or '-'}\tlast seen {iso(d.last_seen_at) or 'never'}")


@device_cli.command("bind")
@click.argument("key")
@click.argument("token_id", type=int)
def device_bind(key, token_id):
    """Bind a device to a token: only that token may report for it."""
    _on_device(key, lambda device: set_device_token(device, token_id), f"bound to token {token_id}")


@device_cli.command("unbind")
@click.argument("key")
def device_unbind(key):
    """Unbind a device: any token with the report scope may report for it."""
    _on_device(key, lambda device: set_device_token(device, None),
               "unbound: any token with the report scope may report for it")


@device_cli.command("approve")
@click.argument("key")
def device_approve(key):
    """Approve a pending (or revoked) device."""
    _on_device(key, lambda device: set_device_status(device, "active"), "approved")


@device_cli.command("revoke")
@click.argument("key")
def device_revoke(key):
    """Revoke a device: its reports get 403."""
    _on_device(key, lambda device: set_device_status(device, "revoked"), "revoked")


@device_cli.command("delete")
@click.argument("key")
def device_delete(key):
    """Delete a device and its activity history."""
    _on_device(key, delete_device, "deleted")


def _on_device(key, change, done):
    """change(device) for the device with this key, then say what was `done` to it."""
    with db.write():
        change(get_device(key))
    click.echo(f"Device {key} {done}.")


@settings_cli.command("get")
@click.argument("key", required=False)
def settings_get(key):
    """Print one setting, or all of them, as JSON."""
    values = settings.load()
    if key is None:
        for name, value in values.items():
            click.echo(f"{name} = {json.dumps(value, ensure_ascii=False)}")
    elif key in values:
        click.echo(json.dumps(values[key], ensure_ascii=False))
    else:
        raise click.ClickException(f"'{key}' is not a setting; known settings: {', '.join(values)}.")


@settings_cli.command("set")
@click.argument("key")
@click.argument("value")
def settings_set(key, value):
    """Change a setting; VALUE is JSON when it parses (true, 30, ["a"]), else text."""
    stored = settings.validate(key, settings.parse_cli_value(value))
    with db.write():
        settings.put(key, stored)
    click.echo(f"{key} = {json.dumps(stored, ensure_ascii=False)}")


@click.command("backup")
@with_appcontext
@click.argument("path", type=click.Path(dir_okay=False))
def backup_command(path):
    """Copy the database to PATH with SQLite's online backup (safe while serving)."""
    source = sqlite3.connect(current_app.config["DATABASE"], timeout=15)
    # A backup holds the same password and token hashes as the database: private too.
    os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
    target = sqlite3.connect(path)
    try:
        with target:
            source.backup(target)
    finally:
        target.close()
        source.close()
    click.echo(f"Backed up to {path}")


def init_app(app):
    """Register the commands."""
    for command in (init_db_command, token_cli, device_cli, settings_cli, backup_command, rule_cli,
                    app_rule_cli, price_cli, alert_cli, status_cli, *ADMIN_COMMANDS):
        app.cli.add_command(command)
