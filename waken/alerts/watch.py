"""The time rules, run by the scheduler worker: sessions gone quiet, devices gone offline and back."""
from waken import db
from waken.alerts import messages
from waken.alerts.outbox import fire, settle
from waken.alerts.rules import FINISHED, OFFLINE, active_rules
from waken.timeutil import to_ms

# At most this many alerts of one rule per round: a backlog drains over the next rounds.
ROUND_MAX = 50
# A session that went quiet this long before the round is never announced (the scheduler was down).
LOOKBACK_MS = 3600 * 1000


def run(now):
    """One round of the time rules at `now`; {what: alerts queued}."""
    rules = active_rules()
    if FINISHED not in rules and OFFLINE not in rules:
        return {}       # no write lock taken every round for nothing
    with db.write():
        done = {}
        if FINISHED in rules:
            done["sessions finished"] = _finished(rules[FINISHED], now)
        if OFFLINE in rules:
            done["devices offline"], done["devices back online"] = _offline(rules[OFFLINE], now)
        return done


def _finished(rule, now):
    quiet = rule.params["quiet_seconds"]
    upper = to_ms(now) - quiet * 1000
    lower = max(rule.since or 0, upper - LOOKBACK_MS)
    rows = db.query(
        "SELECT s.session, s.last_at, s.records, s.cost_usd, s.error, "
        " (SELECT group_concat(agent, ', ') FROM agent_session_part p WHERE p.session = s.session AND agent != '') "
        "   AS agents "
        "FROM agent_session s WHERE s.last_at <= ? AND s.last_at >= ? AND NOT EXISTS (SELECT 1 FROM alert_state a "
        " WHERE a.rule = 'finished' AND a.subject = s.session AND a.mark = s.last_at) ORDER BY s.last_at LIMIT ?",
        (upper, lower, ROUND_MAX))
    for row in rows:
        fire(rule, row["session"], now, *messages.finished(row["session"], quiet, row), mark=row["last_at"])
    return len(rows)


def _offline(rule, now):
    minutes = rule.params["minutes"]
    upper = to_ms(now) - minutes * 60000
    # Only devices that went quiet while the rule was on: none for an outage that began before.
    lower = (rule.since or 0) - minutes * 60000
    gone = db.query(
        "SELECT d.id, d.name, d.last_seen_at FROM device d WHERE d.status = 'active' AND d.last_seen_at <= ? "
        "AND d.last_seen_at >= ? AND NOT EXISTS (SELECT 1 FROM alert_state a WHERE a.rule = 'offline' "
        " AND a.subject = 'device:' || d.id AND a.active = 1 AND a.mark = d.last_seen_at) LIMIT ?",
        (upper, lower, ROUND_MAX))
    for device in gone:
        fire(rule, f"device:{device['id']}", now, *messages.offline(device, minutes), mark=device["last_seen_at"])
    back = db.query(
        "SELECT d.id, d.name, d.last_seen_at, a.mark FROM alert_state a JOIN device d ON a.subject = 'device:' || d.id "
        "WHERE a.rule = 'offline' AND a.active = 1 AND d.last_seen_at > a.mark LIMIT ?", (ROUND_MAX,))
    for device in back:
        settle(OFFLINE, f"device:{device['id']}", False)
        if rule.params["back_online"]:
            away = max(1, round((device["last_seen_at"] - device["mark"]) / 60000))
            fire(rule, f"device:{device['id']}", now, *messages.back_online(device, away), state_rule="back_online")
    return len(gone), len(back) if rule.params["back_online"] else 0
