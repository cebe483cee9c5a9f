"""The `alert` commands: channels and rules from the shell, and a test send that prints the channel's answer."""
import sys

import click

from waken import db
from waken.alerts import channels, messages, rules
from waken.errors import Invalid, ShellGroup
from waken.timeutil import now

alert_cli = ShellGroup("alert", help="Alerts: channels (Apprise URLs) and the rules that send to them.")
channel_cli = ShellGroup("channel", help="Where alerts go: Apprise URLs (ntfy, Telegram, webhooks, …).")
rule_cli = ShellGroup("rule", help="When alerts fire.")
alert_cli.add_command(channel_cli)
alert_cli.add_command(rule_cli)


@channel_cli.command("add")
@click.argument("name")
@click.argument("url")
def channel_add(name, url):
    """Add a channel; URL is an Apprise URL, or - to read it from standard input (kept out of shell history)."""
    if url == "-":
        url = sys.stdin.readline().strip()
    with db.write():
        channel = channels.add_channel(name, url, now())
    click.echo(f"Added channel {channel.name}: {channel.masked}")


@channel_cli.command("list")
def channel_list():
    """List channels, masked (their URLs hold secrets and are never shown)."""
    used = {}
    for rule in rules.all_rules():
        for channel_id in rule.channels:
            used.setdefault(channel_id, []).append(rule.kind)
    for channel in channels.list_channels():
        click.echo(f"{channel.name}\t{channel.masked}\trules: {', '.join(used.get(channel.id, [])) or '-'}")


@channel_cli.command("delete")
@click.argument("name")
def channel_delete(name):
    """Delete a channel, its deliveries, and its place in the rules."""
    with db.write():
        channel = channels.delete_channel(name)
    click.echo(f"Deleted channel {channel.name}.")


@alert_cli.command("test")
@click.argument("name")
def alert_test(name):
    """Send a test alert to channel NAME now and print its answer (exit status 1 if it failed)."""
    from waken.alerts.delivery import send

    channel = channels.get_channel(name)
    ok, answer = send(channel.url, *messages.test())
    click.echo(f"{'Sent' if ok else 'Failed'}: {answer}")
    if not ok:
        sys.exit(1)


@rule_cli.command("list")
def rule_list():
    """List the rules: on or off, channels, cool-down and parameters."""
    names = {c.id: c.name for c in channels.list_channels()}
    for rule in rules.all_rules():
        params = " ".join(f"{k}={','.join(v) if isinstance(v, list) else v}" for k, v in rule.params.items())
        click.echo(f"{rule.kind}\t{'on' if rule.enabled else 'off'}\tchannels: "
                   f"{', '.join(names[c] for c in rule.channels if c in names) or '-'}"
                   f"\tcool-down {rule.cooldown_seconds} s\t{params}")


@rule_cli.command("set")
@click.argument("kind", type=click.Choice(tuple(rules.KINDS)))
@click.option("--on/--off", "enabled", default=None, help="Turn the rule on or off (unchanged when omitted).")
@click.option("--channel", "names", multiple=True, help="A channel name; repeat for several (replaces the list).")
@click.option("--cooldown", type=int, help="Seconds after an alert before the same subject alerts again.")
@click.option("--param", "pairs", multiple=True, help="KEY=VALUE, e.g. quiet_seconds=120 or types=notification,permission.")
def rule_set(kind, enabled, names, cooldown, pairs):
    """Change a rule; what is not given stays as it is."""
    current = {rule.kind: rule for rule in rules.all_rules()}[kind]
    given = {k: ",".join(v) if isinstance(v, list) else str(v) for k, v in current.params.items()}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or key not in given:
            raise Invalid(f"--param takes KEY=VALUE with KEY one of: {', '.join(given)}.", code="alert_rule.param_unknown")
        given[key] = value
    with db.write():
        ids = [channels.get_channel(n).id for n in names] if names else current.channels
        rule = rules.save_rule(kind, current.enabled if enabled is None else enabled, ids,
                               current.cooldown_seconds if cooldown is None else cooldown,
                               rules.parse_params(kind, given), now())
    click.echo(f"{rule.kind}: {'on' if rule.enabled else 'off'}, {len(rule.channels)} channel(s), "
               f"cool-down {rule.cooldown_seconds} s")
