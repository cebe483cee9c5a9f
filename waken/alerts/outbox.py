"""The alert outbox: fire a rule for a subject (cool-down and state kept), claim due rows, record each try."""
from datetime import timedelta

from flask import current_app

from waken import db
from waken.timeutil import to_ms

# Longer than a send can take (5 s timeout), so a claim only lapses when its sender died.
CLAIM_SECONDS = 120
CLAIM_BATCH = 5


def state(rule, subject):
    """(active, mark, fired_at) of a rule's subject, or None."""
    return db.query_one("SELECT active, mark, fired_at FROM alert_state WHERE rule = ? AND subject = ?", (rule, subject))


def settle(rule, subject, active):
    """Record that a subject's condition holds again or no longer does (no alert)."""
    db.execute("UPDATE alert_state SET active = ? WHERE rule = ? AND subject = ?", (int(active), rule, subject))


def fire(rule, subject, at, title, body, *, mark=None, state_rule=None):
    """Queue the alert on each of the rule's channels, unless the subject alerted within the cool-down.

    The subject's state becomes active with `mark` either way: a condition held through its
    cool-down does not send when the cool-down ends. Returns whether it was queued.
    """
    key = state_rule or rule.kind
    ms = to_ms(at)
    last = state(key, subject)
    cooled = last is None or last["fired_at"] <= ms - rule.cooldown_seconds * 1000
    db.execute("INSERT INTO alert_state (rule, subject, active, mark, fired_at) VALUES (?, ?, 1, ?, ?) "
               "ON CONFLICT (rule, subject) DO UPDATE SET active = 1, mark = excluded.mark, "
               "fired_at = CASE WHEN ? THEN excluded.fired_at ELSE fired_at END",
               (key, subject, mark, ms, int(cooled)))
    if cooled:
        for channel_id in rule.channels:
            enqueue(channel_id, rule.kind, title, body, at)
    return cooled


def enqueue(channel_id, kind, title, body, at):
    """One outbox row, due now (the caller's transaction commits it)."""
    ms = to_ms(at)
    return db.execute("INSERT INTO alert_outbox (channel_id, rule, title, body, created_at, next_at) "
                      "SELECT id, ?, ?, ?, ?, ? FROM alert_channel WHERE id = ?",
                      (kind, title[:250], body[:4000], ms, ms, channel_id)).lastrowid


def claim(at):
    """Take the due rows for this sender, atomically (two senders never hold the same row): each try counted."""
    ms = to_ms(at)
    due = "(status = 'pending' AND next_at <= :now) OR (status = 'sending' AND claimed_until < :now)"
    if not db.value(f"SELECT EXISTS (SELECT 1 FROM alert_outbox WHERE {due})", {"now": ms}):
        return []       # read without the write lock: most rounds find nothing to send
    with db.write():
        return db.query(
            "UPDATE alert_outbox SET status = 'sending', tries = tries + 1, claimed_until = :until "
            f"WHERE id IN (SELECT id FROM alert_outbox WHERE {due} ORDER BY id LIMIT :batch) "
            "RETURNING alert_outbox.id, channel_id, rule, title, body, tries, "
            "(SELECT url FROM alert_channel WHERE alert_channel.id = channel_id) AS url",
            {"now": ms, "until": ms + CLAIM_SECONDS * 1000, "batch": CLAIM_BATCH})


def backoff(tries):
    """Seconds before try tries+1: ALERT_RETRY_SECONDS doubled after each failure, at most an hour."""
    return min(3600, current_app.config["ALERT_RETRY_SECONDS"] * 2 ** (tries - 1))


def finish(row_id, tries, ok, answer, at):
    """Record a try's outcome: sent, pending again after a back-off, or dead after the last try."""
    ms = to_ms(at)
    with db.write():
        if ok:
            db.execute("UPDATE alert_outbox SET status = 'sent', finished_at = ?, answer = ?, claimed_until = NULL "
                       "WHERE id = ?", (ms, answer, row_id))
            return "sent"
        if tries >= current_app.config["ALERT_MAX_TRIES"]:
            db.execute("UPDATE alert_outbox SET status = 'dead', finished_at = ?, answer = ?, claimed_until = NULL "
                       "WHERE id = ?", (ms, answer, row_id))
            return "dead"
        due = to_ms(at + timedelta(seconds=backoff(tries)))
        db.execute("UPDATE alert_outbox SET status = 'pending', next_at = ?, answer = ?, claimed_until = NULL "
                   "WHERE id = ?", (due, answer, row_id))
        return "pending"


def recent(limit=100):
    """The latest deliveries, newest first, with their channel's name (never its URL)."""
    return db.query("SELECT o.id, o.rule, o.title, o.body, o.status, o.tries, o.created_at, o.next_at, "
                    "o.finished_at, o.answer, c.name AS channel FROM alert_outbox o "
                    "JOIN alert_channel c ON c.id = o.channel_id ORDER BY o.id DESC LIMIT ?", (limit,))


def counts():
    """{status: rows} over the whole outbox."""
    return {row["status"]: row["n"] for row in db.query("SELECT status, count(*) AS n FROM alert_outbox GROUP BY 1")}
