"""The `rule` and `app-rule` commands: media source rules and app rules from the shell."""
import click

from waken import db, settings
from waken.devices import app_rules, rules
from waken.errors import NotFound, ShellGroup

rule_cli = ShellGroup("rule", help="Media source rules: hide or relabel what a play source reports.")
app_rule_cli = ShellGroup("app-rule", help="App rules: rename an app, hide its title, or hide it in public.")


@rule_cli.command("add")
@click.argument("source")
@click.option("--block", "block", is_flag=True, help="Hide the media of this source from public output.")
@click.option("--rename", "label", metavar="LABEL", help="Show LABEL as this source's name.")
def add_rule_command(source, block, label):
    """Add a rule for SOURCE (matched case-insensitively)."""
    if block == bool(label):
        raise click.UsageError("give exactly one of --block or --rename LABEL")
    with db.write():
        rule = rules.add_rule(source, "block" if block else "rename", label)
    click.echo(f"{rule.id}\t{rule.source}\t{rules.describe(rule)}")


@rule_cli.command("list")
def list_rules_command():
    """List the stored rules and the legacy blocklist."""
    for rule in rules.list_rules():
        click.echo(f"{rule.id}\t{rule.source}\t{rules.describe(rule)}")
    for source in settings.get("media_play_source_blocklist") or []:
        click.echo(f"-\t{source}\tblock (legacy setting media_play_source_blocklist)")


@rule_cli.command("delete")
@click.argument("source")
def delete_rule_command(source):
    """Delete the rule for SOURCE."""
    with db.write():
        rule = rules.find_rule(source)
        if rule is None:
            raise NotFound(f"There is no rule for the play source '{source}'.", code="media_rule.not_found")
        rules.delete_rule(rule.id)
    click.echo(f"Deleted the rule for {rule.source}")


@app_rule_cli.command("add")
@click.argument("process")
@click.option("--rename", "label", metavar="LABEL", help="Show LABEL instead of the process name.")
@click.option("--hide-title", is_flag=True, help="Never show this app's window title.")
@click.option("--hide", is_flag=True, help="Never show this app: its device shows online with no app.")
def add_app_rule_command(process, label, hide_title, hide):
    """Add or replace the rule for PROCESS (matched case-insensitively)."""
    with db.write():
        rule = app_rules.save_app_rule(process, label, hide_title, hide)
    click.echo(f"{rule.process_name}\t{app_rules.describe(rule)}")


@app_rule_cli.command("list")
def list_app_rules_command():
    """List the app rules."""
    for rule in app_rules.list_app_rules():
        click.echo(f"{rule.process_name}\t{app_rules.describe(rule)}")


@app_rule_cli.command("delete")
@click.argument("process")
def delete_app_rule_command(process):
    """Delete the rule for PROCESS."""
    with db.write():
        rule = app_rules.delete_app_rule(process)
    click.echo(f"Deleted the app rule for {rule.process_name}")
