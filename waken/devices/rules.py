"""Media source rules: block or rename a play source in public output."""
from dataclasses import dataclass

from sqlalchemy import select

from waken import db, settings
from waken.db import orm
from waken.errors import Invalid, NotFound, check_length
from waken.models import MediaSourceRule

ACTIONS = ("block", "rename")
MAX_SOURCE = 256
MAX_LABEL = 128


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
    for rule in db.query("SELECT source, action, label FROM media_source_rule"):
        if rule["action"] == "block":
            blocked.add(_key(rule["source"]))
        elif rule["label"]:
            labels[_key(rule["source"])] = rule["label"]
    blocked.update(_key(s) for s in settings.get("media_play_source_blocklist") or [] if _key(s))
    return Rules(frozenset(blocked), labels)


def _clean(source, action, label):
    source = (source or "").strip()
    if not source or len(source) > MAX_SOURCE:
        raise Invalid(f"A play source is required (at most {MAX_SOURCE} characters).", field="source", code="media_rule.source_required", params={"max": MAX_SOURCE})
    action = (action or "").strip().lower()
    if action not in ACTIONS:
        raise Invalid("The action must be block or rename.", field="action", code="media_rule.action_invalid")
    label = (label or "").strip()
    if action == "rename" and not label:
        raise Invalid("A rename rule needs the label to show instead.", field="label", code="media_rule.label_required")
    check_length(label, MAX_LABEL, "label", "media_rule.label_too_long")
    return source, action, (label if action == "rename" else None)


def find_rule(source):
    """The rule for this play source (case-insensitive), or None."""
    return orm.session.scalar(select(MediaSourceRule).where(MediaSourceRule.source == (source or "").strip()))


def _refuse_taken(source, rule_id=None):
    rule = find_rule(source)
    if rule is not None and rule.id != rule_id:
        raise Invalid(f"The play source '{source}' already has a rule.", field="source", code="media_rule.duplicate")


def list_rules():
    """Every stored rule, by source."""
    return list(orm.session.scalars(select(MediaSourceRule).order_by(MediaSourceRule.source)))


def get_rule(rule_id):
    """The rule with this id, or NotFound."""
    rule = orm.session.get(MediaSourceRule, rule_id)
    if rule is None:
        raise NotFound(f"There is no media source rule with id {rule_id}.", code="media_rule.not_found", params={"id": rule_id})
    return rule


def add_rule(source, action, label=None):
    """Add a rule (the caller commits); Invalid when it breaks a rule or the source has one."""
    source, action, label = _clean(source, action, label)
    _refuse_taken(source)
    rule = MediaSourceRule(source=source, action=action, label=label)
    orm.session.add(rule)
    orm.session.flush()
    return rule


def update_rule(rule_id, source, action, label=None):
    """Change a rule (the caller commits); NotFound or Invalid."""
    rule = get_rule(rule_id)
    source, action, label = _clean(source, action, label)
    _refuse_taken(source, rule.id)
    rule.source, rule.action, rule.label = source, action, label
    orm.session.flush()
    return rule


def delete_rule(rule_id):
    """Delete a rule (the caller commits); NotFound when there is none."""
    rule = get_rule(rule_id)
    orm.session.delete(rule)
    return rule


def delete_source_rule(source):
    """Delete the rule for a play source (the caller commits); NotFound when there is none."""
    rule = find_rule(source)
    if rule is None:
        raise NotFound(f"There is no rule for the play source '{(source or '').strip()}'.", code="media_rule.not_found")
    return delete_rule(rule.id)


def describe(rule):
    """'block' or 'rename → Spotify Music' — a rule in words."""
    return "block" if rule.action == "block" else f"rename → {rule.label}"
