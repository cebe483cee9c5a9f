"""The `status` commands: set or clear the owner's status from the shell."""
from zoneinfo import ZoneInfo

import click

from waken import db, settings
from waken.errors import ShellGroup
from waken.feed import status
from waken.timeutil import now

status_cli = ShellGroup("status", help="The owner's status shown on the public page, feed and embeds.")


@status_cli.command("set")
@click.argument("emoji")
@click.argument("text")
@click.option("--until", metavar="WHEN", help="Clear it at WHEN: a clock time such as 07:30 (site time "
                                              "zone) or an ISO 8601 instant.")
def set_status_command(emoji, text, until):
    """Show EMOJI and TEXT as your status (EMOJI may be empty: "")."""
    with db.write():
        shown = status.set_status(emoji, text, until, now(), ZoneInfo(settings.get("timezone")))
    ends = f" until {shown['until'].astimezone(ZoneInfo(settings.get('timezone'))):%Y-%m-%d %H:%M}" \
        if shown["until"] else ""
    click.echo(f"Status: {shown['emoji']} {shown['text']}".rstrip() + ends)


@status_cli.command("clear")
def clear_status_command():
    """Remove your status."""
    with db.write():
        had = status.clear_status()
    click.echo("Status cleared." if had else "No status was set.")
