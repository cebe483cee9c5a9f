"""The event rules, run in the write transaction of the change that meets them: agent records and device reports."""
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from waken import db, settings
from waken.alerts import messages
from waken.alerts.outbox import fire, settle, state
from waken.alerts.rules import BATTERY, BUDGET, ERRORS, NEEDS_YOU, active_rules
from waken.feed.now_playing import battery_of
from waken.timeutil import to_ms


def newly(kind, subject):
    """Whether a condition of this subject is new: never alerted, or cleared since."""
    last = state(kind, subject)
    return last is None or not last["active"]


def agent_record(record, at, *, new=True):
    """Fire what a stored agent record meets (needs you, errors, budget), or one that turned to error (new=False)."""
    rules = active_rules()
    if not rules:
        return
    rule = rules.get(NEEDS_YOU)
    if new and rule and record["type"] in rule.params["types"]:
        subject = record.get("session") or f"agent:{record.get('agent') or ''}"
        fire(rule, subject, at, *messages.needs_you(record))
    if ERRORS in rules and record["status"] == "error":
        _errors(rules[ERRORS], record, at)
    if new and BUDGET in rules and record.get("cost_usd"):
        _budget(rules[BUDGET], record, at)


def _errors(rule, record, at):
    minutes, agent, subject = rule.params["minutes"], record.get("agent"), f"agent:{record.get('agent') or ''}"
    last = state(ERRORS, subject)
    if last is not None and last["fired_at"] > to_ms(at) - rule.cooldown_seconds * 1000:
        return      # within the cool-down: nothing to count
    # Through the status index, stopping at `count`: error records are few, an agent's records many.
    count = db.value("SELECT count(*) FROM (SELECT 1 FROM agent_activity INDEXED BY agent_activity_status "
                     "WHERE status = 'error' AND timestamp >= ? AND agent IS ? LIMIT ?)",
                     (to_ms(at - timedelta(minutes=minutes)), agent, rule.params["count"]))
    if count >= rule.params["count"]:
        fire(rule, subject, at, *messages.errors(agent, count, minutes, record))


def _local_midnight(at):
    zone = ZoneInfo(settings.get("timezone"))
    day = at.astimezone(zone).date()
    return day, datetime.combine(day, time(), zone)


def _budget(rule, record, at):
    day_limit, session_limit = rule.params["day_usd"], rule.params["session_usd"]
    if day_limit:
        day, midnight = _local_midnight(at)
        subject = f"day:{day.isoformat()}"
        # Every zone's offset is a multiple of 15 minutes: a local day is whole buckets. Summed
        # only until the day has alerted.
        cost = newly(BUDGET, subject) and db.value(
            "SELECT total(cost_usd) FROM agent_activity_usage WHERE bucket >= ?", (to_ms(midnight),))
        if cost and cost > day_limit * 1e6:
            fire(rule, subject, at, *messages.budget_day(cost, day_limit))
    session = record.get("session")
    if session_limit and session:
        subject = f"session:{session}"
        cost = newly(BUDGET, subject) and db.value("SELECT cost_usd FROM agent_session WHERE session = ?", (session,))
        if cost and cost > session_limit * 1e6:
            fire(rule, subject, at, *messages.budget_session(session, record.get("agent"), cost, session_limit))


def device_report(device, meta, at):
    """Fire or clear the battery rule for a stored report's battery state."""
    rule = active_rules().get(BATTERY)
    if rule is None:
        return
    battery, subject = battery_of(meta), f"device:{device['id']}"
    if battery["percent"] is None:
        return
    low = battery["percent"] < rule.params["percent"] and battery["charging"] is not True
    if low and newly(BATTERY, subject):
        fire(rule, subject, at, *messages.battery(device, battery["percent"], rule.params["percent"]))
    elif not low and not newly(BATTERY, subject):
        settle(BATTERY, subject, False)
