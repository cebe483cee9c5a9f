"""The agent log: store, finish and read agent records (one page, one record, the stream's next)."""
import json
from datetime import timedelta

from flask import current_app

from waken import db, settings
from waken.agent_log import search, totals
from waken.agent_log.filters import bounds, retention_cutoff, where
from waken.agent_log.prices import micro_usd, usd
from waken.alerts import events as alerts
from waken.errors import Invalid, NotFound
from waken.payload import stored_json
from waken.schemas.fields import SQL_INT_MAX
from waken.timeutil import from_ms, iso, to_ms

COLUMNS = "id, type, description, status, timestamp, duration_ms, tokens_used, agent, metadata, session, cost_usd"


def record_of(row):
    """A record as the API shows it, from a row of COLUMNS."""
    record = dict(row)
    record["timestamp"] = from_ms(row["timestamp"])
    record["metadata"] = None if row["metadata"] is None else json.loads(row["metadata"])
    record["cost_usd"] = usd(row["cost_usd"])
    return record


def get_record(record_id, at):
    """One record within retention; NotFound otherwise."""
    row = None
    if record_id <= SQL_INT_MAX:    # past SQLite's integers: not found, never an overflow
        row = db.query_one(f"SELECT {COLUMNS} FROM agent_activity WHERE id = ? AND timestamp >= ?",
                           (record_id, to_ms(retention_cutoff(at))))
    if row is None:
        raise NotFound(f"There is no agent activity with id {record_id}.", code="agent_activity.not_found", params={"id": record_id})
    return record_of(row)


def create_record(data, at, caller):
    """Store one record in the open write transaction; returns (record, created).

    caller is the writing token's id, or 0 for an anonymous one: an idempotency key
    matches only a record of the same caller (see caller_of).
    """
    timestamp = data.get("timestamp") or at
    _check_timestamp(timestamp, at)
    key = data.get("idempotency_key")
    if key:
        row = db.query_one(f"SELECT {COLUMNS} FROM agent_activity "
                           "WHERE idempotency_caller = ? AND idempotency_key = ?", (caller, key))
        if row is not None and row["timestamp"] >= to_ms(retention_cutoff(at)):
            return record_of(row), False
        # A key whose first record is past retention is free again.
        db.execute("DELETE FROM agent_activity WHERE idempotency_caller = ? AND idempotency_key = ?",
                   (caller, key))
    record = {"type": data["type"], "description": data["description"], "status": data["status"],
              "timestamp": from_ms(to_ms(timestamp)), "duration_ms": data.get("duration_ms"),
              "tokens_used": data.get("tokens_used"), "agent": data.get("agent") or None,
              "metadata": data.get("metadata"), "session": data.get("session") or None}
    cost = micro_usd(data.get("cost_usd"))
    record["cost_usd"] = usd(cost)
    cursor = db.execute(
        "INSERT INTO agent_activity (type, description, status, timestamp, duration_ms, tokens_used, agent, "
        "metadata, idempotency_key, idempotency_caller, created_at, session, cost_usd) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (record["type"], record["description"], record["status"], to_ms(timestamp), record["duration_ms"],
         record["tokens_used"], record["agent"], _stored_metadata(record), key, caller, to_ms(at),
         record["session"], cost))
    record = {"id": cursor.lastrowid, **record}
    alerts.agent_record(record, at)     # in this transaction: REST, MCP and OTLP all store here
    return record, True


def caller_of(token):
    """Whose idempotency keys a writer uses: its token's id, or 0 for anonymous callers."""
    return 0 if token is None else token.id


def _stored_metadata(record):
    return None if record["metadata"] is None else stored_json(record["metadata"])


def _check_timestamp(timestamp, at):
    skew = current_app.config["AGENT_CLOCK_SKEW_SECONDS"]
    if timestamp > at + timedelta(seconds=skew):
        raise Invalid(f"timestamp {iso(timestamp)} is in the future (server time {iso(at)}, "
                      f"allowed clock skew {skew} s).", field="timestamp", code="agent_activity.timestamp_future")
    if timestamp < retention_cutoff(at):
        days = settings.get("agent_retention_days")
        raise Invalid(f"timestamp {iso(timestamp)} is older than the {days}-day retention window, "
                      "so it would be deleted at the next sweep.", field="timestamp", code="agent_activity.timestamp_too_old", params={"days": days})


def update_record(record_id, changes, at):
    """Finish a record: new status, duration and tokens; metadata merged one level."""
    record = get_record(record_id, at)
    was = record["status"]
    for key in ("status", "duration_ms", "tokens_used"):
        if changes.get(key) is not None:
            record[key] = changes[key]
    if changes.get("metadata") is not None:
        record["metadata"] = {**(record["metadata"] or {}), **changes["metadata"]}
    db.execute("UPDATE agent_activity SET status = ?, duration_ms = ?, tokens_used = ?, metadata = ? WHERE id = ?",
               (record["status"], record["duration_ms"], record["tokens_used"], _stored_metadata(record),
                record_id))
    if record["status"] == "error" != was:
        alerts.agent_record(record, at, new=False)
    return record


def matching_rows(args, lower, upper, found=None):
    """A cursor over the rows (COLUMNS) the list args select in [lower, upper): sorted, one page.

    With q, `found` is search.find's answer for the same args (taken here when not given).
    """
    order = "DESC" if args["sort"] == "newest" else "ASC"
    if args.get("q"):
        rows, _partial = found or search.find(args, lower, upper)
        return db.execute(f"SELECT {COLUMNS} FROM agent_activity WHERE id IN (SELECT value FROM json_each(?)) "
                          f"ORDER BY timestamp {order}, id {order}", (json.dumps(search.page(rows, args)),))
    clause, params = where(args, lower, upper)
    return db.execute(f"SELECT {COLUMNS} FROM agent_activity WHERE {clause} "
                      f"ORDER BY timestamp {order}, id {order} LIMIT ? OFFSET ?",
                      (*params, args["limit"], args["offset"]))


def list_records(args, at):
    """{activities, total, limit, offset, hasMore} for validated query args (and `partial` with q)."""
    lower, upper = bounds(args, at)
    found = search.find(args, lower, upper) if args.get("q") else None
    rows = matching_rows(args, lower, upper, found).fetchall()
    total = len(found[0]) if found else totals.count(args, lower, upper)
    page = {"activities": [record_of(r) for r in rows], "total": total, "limit": args["limit"],
            "offset": args["offset"], "hasMore": args["offset"] + len(rows) < total}
    if found:
        page["partial"] = found[1]
    return page


def records_after(last_id, at, limit, session=None):
    """Records with id > last_id in id order (the stream's cursor), within retention; of one session if given."""
    only = "" if session is None else " AND session = ?"
    rows = db.query(f"SELECT {COLUMNS} FROM agent_activity WHERE id > ? AND timestamp >= ?{only} ORDER BY id LIMIT ?",
                    (last_id, to_ms(retention_cutoff(at)), *([] if session is None else [session]), limit))
    return [record_of(r) for r in rows]


def latest_id():
    """The highest id handed out so far (0 for none); ids are never reused."""
    return db.value("SELECT seq FROM sqlite_sequence WHERE name = 'agent_activity'") or 0
