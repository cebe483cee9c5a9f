"""Alert rules: the kinds there are, their parameters and defaults, and the owner's settings of each."""
import json
from dataclasses import dataclass, field

from sqlalchemy import select

from waken import db
from waken.db import orm
from waken.errors import Invalid
from waken.i18n.mark import N_
from waken.models import AlertChannel, AlertRule

NEEDS_YOU, FINISHED, ERRORS, BUDGET, OFFLINE, BATTERY = "needs_you", "finished", "errors", "budget", "offline", "battery"
COOLDOWN_MAX = 7 * 86400


@dataclass(frozen=True)
class Param:
    """One parameter of a kind: its label, default, bounds ("list" for a list of words, None for a flag)."""
    label: str
    default: object
    low: float | None = 0
    high: float | None = None


@dataclass(frozen=True)
class Kind:
    title: str
    explains: str
    cooldown: int
    params: dict = field(default_factory=dict)


KINDS = {
    NEEDS_YOU: Kind(N_("Agent needs you"), N_("A record of one of these types arrives (REST, MCP or OTLP)."), 60, {
        "types": Param(N_("Record types"), ["notification", "permission_request", "permission"], "list")}),
    FINISHED: Kind(N_("Agent finished"), N_("A session has been quiet this long after activity."), 0, {
        "quiet_seconds": Param(N_("Quiet for (seconds)"), 60, 5, 86400)}),
    ERRORS: Kind(N_("Agent errors"), N_("An agent stores this many error records within the window."), 600, {
        "count": Param(N_("Errors"), 3, 1, 10000), "minutes": Param(N_("Within (minutes)"), 10, 1, 1440)}),
    BUDGET: Kind(N_("Budget"), N_("Agent cost today (local day), or of one session, goes over a limit; 0 turns a limit off."),
                 0, {"day_usd": Param(N_("Per day (USD)"), 5.0, 0, 1e6), "session_usd": Param(N_("Per session (USD)"), 0.0, 0, 1e6)}),
    OFFLINE: Kind(N_("Device offline"), N_("A device sends no report this long; and, when on, when it is back."), 0, {
        "minutes": Param(N_("Offline after (minutes)"), 10, 1, 10080), "back_online": Param(N_("Tell when back online"), True, None)}),
    BATTERY: Kind(N_("Battery low"), N_("A device's battery drops below this level and it is not charging."), 3600, {
        "percent": Param(N_("Below (percent)"), 15, 1, 100)}),
}


@dataclass
class Rule:
    """A kind as the owner set it (or its defaults): what the hooks and the watcher read."""
    kind: str
    enabled: bool
    channels: list
    cooldown_seconds: int
    params: dict
    since: int | None = None


def defaults(kind):
    return Rule(kind, False, [], KINDS[kind].cooldown, {k: p.default for k, p in KINDS[kind].params.items()})


def all_rules():
    """Every kind, as set or by default, in catalogue order (for the pages)."""
    rows = {row.kind: row for row in orm.session.scalars(select(AlertRule))}
    return [_of(kind, rows.get(kind)) for kind in KINDS]


def _of(kind, row):
    rule = defaults(kind)
    if row is not None:
        rule.enabled, rule.channels, rule.cooldown_seconds = row.enabled, list(row.channels), row.cooldown_seconds
        rule.params = {**rule.params, **{k: v for k, v in row.params.items() if k in rule.params}}
    return rule


def active_rules():
    """{kind: Rule} of the rules that are on and name a channel (read per stored record: one small SQL read)."""
    found = {}
    for row in db.query("SELECT kind, channels, cooldown_seconds, params, since FROM alert_rule "
                        "WHERE enabled = 1 AND channels != '[]'"):
        if row["kind"] not in KINDS:     # a kind from a later version of waken
            continue
        rule = defaults(row["kind"])
        rule.enabled, rule.channels, rule.cooldown_seconds = True, json.loads(row["channels"]), row["cooldown_seconds"]
        rule.params.update({k: v for k, v in json.loads(row["params"]).items() if k in rule.params})
        rule.since = row["since"]
        found[row["kind"]] = rule
    return found


def _number(kind, key, param, text):
    try:
        value = float(text)
    except (TypeError, ValueError):
        raise Invalid(f"{param.label} must be a number.", field=key, code="alert_rule.param_not_number") from None
    if not (param.low <= value <= param.high):
        raise Invalid(f"{param.label} must be from {param.low:g} to {param.high:g}.", field=key,
                      code="alert_rule.param_out_of_range", params={"min": param.low, "max": param.high})
    return int(value) if isinstance(param.default, int) and value == int(value) else value


def parse_params(kind, given):
    """The kind's parameters from form or shell text: numbers, flags ("true"/"on"), lists (comma-separated)."""
    params = {}
    for key, param in KINDS[kind].params.items():
        text = given.get(key)
        if param.low is None:
            params[key] = str(text).strip().lower() in ("1", "true", "on", "yes") if text is not None else False
        elif param.low == "list":
            words = [w.strip() for w in str(text if text is not None else ",".join(param.default)).split(",")]
            params[key] = [w[:128] for w in words if w][:50]
            if not params[key]:
                raise Invalid(f"{param.label} needs at least one entry.", field=key, code="alert_rule.param_empty")
        else:
            params[key] = param.default if text in (None, "") else _number(kind, key, param, text)
    return params


def save_rule(kind, enabled, channel_ids, cooldown_seconds, params, at):
    """Set a rule; turning it on starts its time window now (no alert for what happened before)."""
    if kind not in KINDS:
        raise Invalid(f"There is no alert rule “{str(kind)[:32]}”; there are: {', '.join(KINDS)}.", field="kind",
                      code="alert_rule.unknown", params={"kind": str(kind)[:32]})
    known = set(orm.session.scalars(select(AlertChannel.id)))
    if any(cid not in known for cid in channel_ids):
        raise Invalid("A channel of this rule does not exist (any more).", field="channels",
                      code="alert_rule.channel_unknown")
    if enabled and not channel_ids:
        raise Invalid("A rule that is on needs at least one channel.", field="channels",
                      code="alert_rule.channel_required")
    if not (0 <= cooldown_seconds <= COOLDOWN_MAX):
        raise Invalid(f"The cool-down must be from 0 to {COOLDOWN_MAX} seconds.", field="cooldown_seconds",
                      code="alert_rule.cooldown_invalid", params={"max": COOLDOWN_MAX})
    row = orm.session.get(AlertRule, kind) or AlertRule(kind=kind, since=None)
    if enabled and not row.enabled:
        row.since = at
    row.enabled, row.channels, row.cooldown_seconds, row.params = enabled, sorted(channel_ids), cooldown_seconds, params
    orm.session.add(row)
    orm.session.flush()
    return _of(kind, row)


def forget_channel(channel_id):
    """Take a channel out of every rule; a rule left with none turns off."""
    for row in orm.session.scalars(select(AlertRule)):
        if channel_id in row.channels:
            row.channels = [c for c in row.channels if c != channel_id]
            row.enabled = row.enabled and bool(row.channels)
