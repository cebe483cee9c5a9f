"""App rules: rename an app, hide its window title, or hide it from public output."""
from dataclasses import dataclass

from sqlalchemy import select

from waken import db
from waken.db import orm
from waken.errors import Invalid, NotFound, check_length
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

    def __init__(self, rows):
        self._by_key = {key(row["process_name"]): AppView(row["label"], bool(row["hide_title"]), bool(row["hide"]))
                        for row in rows}

    def view(self, process_name):
        """The AppView for a process, or None when no rule names it."""
        return self._by_key.get(key(process_name))

    def hidden(self):
        """Process names hidden entirely (their lookup keys)."""
        return [k for k, v in self._by_key.items() if v.hide]


def active_app_rules():
    """Every stored app rule, in one query."""
    return AppRules(db.query("SELECT process_name, label, hide_title, hide FROM app_rule"))


def clean(process_name, label=None, hide_title=False, hide=False):
    """(process_name, label or None, hide_title, hide), or Invalid with a readable reason."""
    process_name = (process_name or "").strip()
    if not process_name or len(process_name) > MAX_PROCESS:
        raise Invalid(f"A process name is required (at most {MAX_PROCESS} characters).", field="process_name", code="app_rule.process_required", params={"max": MAX_PROCESS})
    label = check_length((label or "").strip(), MAX_LABEL, "label", "app_rule.label_too_long") or None
    if label is None and not hide_title and not hide:
        raise Invalid("A rule needs a label to show, hide the title, or hide the app.", code="app_rule.empty")
    return process_name, label, bool(hide_title), bool(hide)


def find(process_name):
    """The rule for this process name (case-insensitive), or None."""
    return orm.session.scalar(select(AppRule).where(AppRule.process_name == (process_name or "").strip()))


def list_app_rules():
    """Every rule, by process name."""
    return list(orm.session.scalars(select(AppRule).order_by(AppRule.process_name)))


def save_app_rule(process_name, label=None, hide_title=False, hide=False):
    """Add the rule for a process, or replace the one it has (the caller commits); Invalid when wrong."""
    process_name, label, hide_title, hide = clean(process_name, label, hide_title, hide)
    rule = find(process_name)
    if rule is None:
        rule = AppRule(process_name=process_name)
        orm.session.add(rule)
    rule.process_name, rule.label, rule.hide_title, rule.hide = process_name, label, hide_title, hide
    orm.session.flush()
    return rule


def delete_app_rule(process_name):
    """Delete the rule for a process (the caller commits); NotFound when there is none."""
    rule = find(process_name)
    if rule is None:
        raise NotFound(f"There is no app rule for '{(process_name or '').strip()}'.", code="app_rule.not_found")
    orm.session.delete(rule)
    return rule


def describe(rule):
    """'rename → WeChat, hide title' — a rule in words."""
    parts = ([f"rename → {rule.label}"] if rule.label else []) + (["hide title"] if rule.hide_title else [])
    return "hide" if rule.hide else ", ".join(parts)
