"""The scheduler's alert round: the time rules, then the due deliveries; and retention of the outbox."""
from datetime import timedelta

from flask import current_app

from waken import db
from waken.alerts import delivery, watch
from waken.timeutil import to_ms


def run_alerts(now):
    """One round at `now`, reported as the sweeps report: {what: count}."""
    queued = watch.run(now)
    sent = delivery.deliver_due(now)
    return {**{f"alerts for {what}": n for what, n in queued.items()},
            **{f"alert deliveries {status}": n for status, n in sent.items()}}


def sweep_alerts(now):
    """Delete deliveries sent or dead past ALERT_RETENTION_DAYS, and cleared alert states as old."""
    cutoff = to_ms(now - timedelta(days=current_app.config["ALERT_RETENTION_DAYS"]))
    with db.write():
        rows = db.execute("DELETE FROM alert_outbox WHERE status IN ('sent', 'dead') AND finished_at < ?",
                          (cutoff,)).rowcount
        db.execute("DELETE FROM alert_state WHERE active = 0 AND fired_at < ?", (cutoff,))
    return {"alert deliveries deleted": rows}
