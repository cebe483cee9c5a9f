"""Media source rules: block or rename a play source in public output; the `rule` commands."""
from dataclasses import dataclass

import click
from flask.cli import AppGroup
from sqlalchemy import select

from waken import settings
from waken.db import begin_write, orm
from waken.models import MediaSourceRule

ACTIONS = ("block", "rename")


@dataclass(frozen=True)
class Rules:
    """The rules in force: blocked sources and rename labels, keyed by lower-cased source."""

    blocked: frozenset
    labels: dict

    def is_blocked(self, source):
        return _key(source) in self.blocked

    def label(self, source):
        return self.labels.get(_key(source))


def _key(source):
    return source.strip().casefold() if isinstance(source, str) else None


def active_rules():
    """Stored rules plus the legacy blocklist setting (one query; a blocked source stays blocked)."""
    blocked, labels = set(), {}
    for source, action, label in orm.session.execute(
            select(MediaSourceRule.source, MediaSourceRule.action, MediaSourceRule.label)):
        if action == "block":
            blocked.add(_key(source))
        elif label:
            labels[_key(source)] = label
    blocked.update(_key(s) for s in settings.get("media_play_source_blocklist") or [] if _key(s))
    return Rules(frozenset(blocked), labels)


def _clean(source, action, label):
    source = (source or "").strip()
    if not source or len(source) > 256:
        raise ValueError("a play source is required (at most 256 characters)")
    action = (action or "").strip().lower()
    if action not in ACTIONS:
        raise ValueError("the action must be block or rename")
    label = (label or "").strip()
    if action == "rename" and not label:
        raise ValueError("a rename rule needs the label to show instead")
    if len(label) > 128:
        raise ValueError("the label may be at most 128 characters")
    return source, action, (label if action == "rename" else None)


def _find_source(source, exclude_id=None):
    query = select(MediaSourceRule).where(MediaSourceRule.source == source)
    rule = orm.session.scalar(query)
    return rule if rule is not None and rule.id != exclude_id else None


def list_rules():
    """Every stored rule, by source."""
    return list(orm.session.scalars(select(MediaSourceRule).order_by(MediaSourceRule.source)))


def get_rule(rule_id):
    """The rule with this id, or ValueError."""
    rule = orm.session.get(MediaSourceRule, rule_id)
    if rule is None:
        raise ValueError(f"there is no media source rule with id {rule_id}")
    return rule


def add_rule(source, action, label=None):
    """Add a rule (the caller commits); ValueError when invalid or the source has one."""
    source, action, label = _clean(source, action, label)
    if _find_source(source) is not None:
        raise ValueError(f"the play source '{source}' already has a rule")
    rule = MediaSourceRule(source=source, action=action, label=label)
    orm.session.add(rule)
    orm.session.flush()
    return rule


def update_rule(rule_id, source, action, label=None):
    """Change a rule (the caller commits); ValueError when invalid."""
    rule = get_rule(rule_id)
    source, action, label = _clean(source, action, label)
    if _find_source(source, exclude_id=rule.id) is not None:
        raise ValueError(f"the play source '{source}' already has a rule")
    rule.source, rule.action, rule.label = source, action, label
    orm.session.flush()
    return rule


def delete_rule(rule_id):
    """Delete a rule (the caller commits)."""
    orm.session.delete(get_rule(rule_id))


rule_cli = AppGroup("rule", help="Media source rules: hide or relabel what a play source reports.")

@rule_cli.command("add")
@click.argument("source")
@click.option("--block", "block", is_flag=True, help="Hide the media of this source from public output.")
@click.option("--rename", "label", metavar="LABEL", help="Show LABEL as this source's name.")
def add_command(source, block, label):
    """Add a rule for SOURCE (matched case-insensitively)."""
    if block == bool(label):
        raise click.UsageError("give exactly one of --block or --rename LABEL")
    try:
        begin_write()
        rule = add_rule(source, "block" if block else "rename", label)
    except ValueError as err:
        raise click.ClickException(f"{err}.") from None
    orm.session.commit()
    click.echo(f"{rule.id}\t{rule.source}\t{_describe(rule)}")


@rule_cli.command("list")
def list_command():
    """List the stored rules and the legacy blocklist."""
    for rule in list_rules():
        click.echo(f"{rule.id}\t{rule.source}\t{_describe(rule)}")
    for source in settings.get("media_play_source_blocklist") or []:
        click.echo(f"-\t{source}\tblock (legacy setting media_play_source_blocklist)")


@rule_cli.command("delete")
@click.argument("source")
def delete_command(source):
    """Delete the rule for SOURCE."""
    begin_write()
    rule = _find_source(source.strip())
    if rule is None:
        raise click.ClickException(f"there is no rule for the play source '{source}'.")
    delete_rule(rule.id)
    orm.session.commit()
    click.echo(f"Deleted the rule for {rule.source}")


def _describe(rule):
    return "block" if rule.action == "block" else f"rename → {rule.label}"
