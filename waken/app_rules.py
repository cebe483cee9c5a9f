"""App rules: rename an app, hide its window title, or hide it from public output; `app-rule` commands."""
from dataclasses import dataclass

import click
from flask.cli import AppGroup
from sqlalchemy import select

from waken.db import begin_write, orm
from waken.models import AppRule

MAX_PROCESS = 256
MAX_LABEL = 128


def key(process_name):
    """The lookup key of a process name: trimmed, ASCII letters folded (as SQLite's NOCASE does)."""
    if not isinstance(process_name, str):
        return None
    return process_name.strip().translate(_ASCII_LOWER)


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


@dataclass(frozen=True)
class AppView:
    """What the public sees of one app: its shown name, and whether its title or itself is hidden."""

    label: str | None
    hide_title: bool
    hide: bool


class AppRules:
    """The rules in force, keyed by process name (case-insensitive)."""

    def __init__(self, rules):
        self._by_key = {key(r.process_name): AppView(r.label, bool(r.hide_title), bool(r.hide)) for r in rules}

    def view(self, process_name):
        """The AppView for a process, or None when no rule names it."""
        return self._by_key.get(key(process_name))

    def hidden(self):
        """Process names hidden entirely (their lookup keys)."""
        return [k for k, v in self._by_key.items() if v.hide]


def active_app_rules():
    """Every stored app rule, in one query."""
    return AppRules(orm.session.scalars(select(AppRule)))


def clean(process_name, label=None, hide_title=False, hide=False):
    """(process_name, label or None, hide_title, hide) or ValueError with a readable reason."""
    process_name = (process_name or "").strip()
    if not process_name or len(process_name) > MAX_PROCESS:
        raise ValueError(f"a process name is required (at most {MAX_PROCESS} characters)")
    label = (label or "").strip() or None
    if label is not None and len(label) > MAX_LABEL:
        raise ValueError(f"the label may be at most {MAX_LABEL} characters")
    if label is None and not hide_title and not hide:
        raise ValueError("a rule needs a label to show, hide the title, or hide the app")
    return process_name, label, bool(hide_title), bool(hide)


def find(process_name):
    """The rule for this process name (case-insensitive), or None."""
    return orm.session.scalar(select(AppRule).where(AppRule.process_name == (process_name or "").strip()))


def list_app_rules():
    """Every rule, by process name."""
    return list(orm.session.scalars(select(AppRule).order_by(AppRule.process_name)))


def save_app_rule(process_name, label=None, hide_title=False, hide=False):
    """Add the rule for a process, or replace the one it has (the caller commits)."""
    process_name, label, hide_title, hide = clean(process_name, label, hide_title, hide)
    rule = find(process_name)
    if rule is None:
        rule = AppRule(process_name=process_name)
        orm.session.add(rule)
    rule.process_name, rule.label, rule.hide_title, rule.hide = process_name, label, hide_title, hide
    orm.session.flush()
    return rule


def delete_app_rule(process_name):
    """Delete the rule for a process (the caller commits); ValueError when there is none."""
    rule = find(process_name)
    if rule is None:
        raise ValueError(f"there is no app rule for '{(process_name or '').strip()}'")
    orm.session.delete(rule)
    return rule


def describe(rule):
    """'rename → WeChat, hide title' — a rule in words."""
    parts = ([f"rename → {rule.label}"] if rule.label else []) + (["hide title"] if rule.hide_title else [])
    return "hide" if rule.hide else ", ".join(parts)


app_rule_cli = AppGroup("app-rule", help="App rules: rename an app, hide its title, or hide it in public.")


@app_rule_cli.command("add")
@click.argument("process")
@click.option("--rename", "label", metavar="LABEL", help="Show LABEL instead of the process name.")
@click.option("--hide-title", is_flag=True, help="Never show this app's window title.")
@click.option("--hide", is_flag=True, help="Never show this app: its device shows online with no app.")
def add_command(process, label, hide_title, hide):
    """Add or replace the rule for PROCESS (matched case-insensitively)."""
    try:
        values = clean(process, label, hide_title, hide)
    except ValueError as err:
        raise click.ClickException(f"{err}.") from None
    begin_write()
    rule = save_app_rule(*values)
    orm.session.commit()
    click.echo(f"{rule.process_name}\t{describe(rule)}")


@app_rule_cli.command("list")
def list_command():
    """List the app rules."""
    for rule in list_app_rules():
        click.echo(f"{rule.process_name}\t{describe(rule)}")


@app_rule_cli.command("delete")
@click.argument("process")
def delete_command(process):
    """Delete the rule for PROCESS."""
    begin_write()
    try:
        rule = delete_app_rule(process)
    except ValueError as err:
        orm.session.rollback()
        raise click.ClickException(f"{err}.") from None
    orm.session.commit()
    click.echo(f"Deleted the app rule for {rule.process_name}")
