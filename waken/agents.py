"""The agent-activity domain: create, update, query, export and summarise the log."""
import csv
import io
import json
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app

from waken import agent_totals, settings
from waken.db import raw_connection
from waken.errors import ApiError
from waken.payload import stored_json
from waken.schemas.fields import SQL_INT_MAX
from waken.timeutil import from_ms, iso, to_ms

COLUMNS = "id, type, description, status, timestamp, duration_ms, tokens_used, agent, metadata"
CSV_HEADER = ("id", "timestamp", "type", "description", "status", "duration_ms", "tokens_used",
              "agent", "metadata")
# A spreadsheet runs a cell starting with one of these as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
STATUSES = ("success", "error", "pending", "running")
BUCKET_MS = 15 * 60 * 1000      # the rollup's bucket (schema.sql)
CSV_BATCH = 500


def _record(row):
    return {"id": row[0], "type": row[1], "description": row[2], "status": row[3],
            "timestamp": from_ms(row[4]), "duration_ms": row[5], "tokens_used": row[6],
            "agent": row[7], "metadata": None if row[8] is None else json.loads(row[8])}


def retention_cutoff(at):
    """Rows older than this are past retention: never read, deleted by the sweep."""
    return at - timedelta(days=settings.get("agent_retention_days"))


def get_activity(activity_id, at):
    """One record within retention, or 404."""
    row = None
    if activity_id <= SQL_INT_MAX:    # past SQLite's integers: not found, never an overflow
        row = raw_connection().execute(f"SELECT {COLUMNS} FROM agent_activity WHERE id = ? AND timestamp >= ?",
                                       (activity_id, to_ms(retention_cutoff(at)))).fetchone()
    if row is None:
        raise ApiError(404, f"There is no agent activity with id {activity_id}.")
    return _record(row)


def create_activity(data, at):
    """Store one record in the open write transaction; returns (record, created)."""
    conn = raw_connection()
    timestamp = data.get("timestamp") or at
    _check_timestamp(timestamp, at)
    key = data.get("idempotency_key")
    if key:
        row = conn.execute(f"SELECT {COLUMNS} FROM agent_activity WHERE idempotency_key = ?", (key,)).fetchone()
        if row is not None and row[4] >= to_ms(retention_cutoff(at)):
            return _record(row), False
        # A key whose first record is past retention is free again.
        conn.execute("DELETE FROM agent_activity WHERE idempotency_key = ?", (key,))
    metadata = data.get("metadata")
    cursor = conn.execute(
        "INSERT INTO agent_activity (type, description, status, timestamp, duration_ms, tokens_used, agent, "
        "metadata, idempotency_key, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (data["type"], data["description"], data["status"], to_ms(timestamp), data.get("duration_ms"),
         data.get("tokens_used"), data.get("agent") or None,
         None if metadata is None else stored_json(metadata), key, to_ms(at)))
    record = {"id": cursor.lastrowid, "type": data["type"], "description": data["description"],
              "status": data["status"], "timestamp": from_ms(to_ms(timestamp)),
              "duration_ms": data.get("duration_ms"), "tokens_used": data.get("tokens_used"),
              "agent": data.get("agent") or None, "metadata": metadata}
    return record, True


def _check_timestamp(timestamp, at):
    skew = current_app.config["AGENT_CLOCK_SKEW_SECONDS"]
    if timestamp > at + timedelta(seconds=skew):
        raise ApiError(400, f"timestamp {iso(timestamp)} is in the future (server time {iso(at)}, "
                            f"allowed clock skew {skew} s).", fields={"timestamp": "may not be in the future"})
    days = settings.get("agent_retention_days")
    if timestamp < retention_cutoff(at):
        raise ApiError(400, f"timestamp {iso(timestamp)} is older than the {days}-day retention window, "
                            "so it would be deleted at the next sweep.",
                       fields={"timestamp": f"may not be older than {days} days"})


def update_activity(activity_id, changes, at):
    """Finish a record: new status, duration and tokens; metadata merged one level."""
    record = get_activity(activity_id, at)
    for key in ("status", "duration_ms", "tokens_used"):
        if changes.get(key) is not None:
            record[key] = changes[key]
    if changes.get("metadata") is not None:
        record["metadata"] = {**(record["metadata"] or {}), **changes["metadata"]}
    raw_connection().execute(
        "UPDATE agent_activity SET status = ?, duration_ms = ?, tokens_used = ?, metadata = ? WHERE id = ?",
        (record["status"], record["duration_ms"], record["tokens_used"],
         None if record["metadata"] is None else stored_json(record["metadata"]), activity_id))
    return record


def local_zone():
    return ZoneInfo(settings.get("timezone"))


def _local_midnight(day, zone):
    return datetime.combine(day, time(), zone)


def filters(args):
    """Conditions and parameters for the type, status and agent filters (same columns in the rollup)."""
    clauses, params = [], []
    for column in ("type", "status"):
        if args.get(column):
            clauses.append(f"{column} IN ({', '.join('?' * len(args[column]))})")
            params += args[column]
    if args.get("agent"):
        clauses.append("agent = ?")
        params.append(args["agent"])
    return clauses, params


def _range(args, at):
    """[lower, upper) in Unix ms for the date filters; retention always applies (upper None: open)."""
    zone = local_zone()
    start, end = args.get("startDate"), args.get("endDate")
    # A date-only start is its local midnight; a date-only end runs to the next local midnight;
    # a date-time end is inclusive, and timestamps are whole milliseconds.
    start_ms = None if start is None else to_ms(_local_midnight(start, zone) if type(start) is date else start)
    upper = None
    if end is not None:
        upper = to_ms(_local_midnight(end + timedelta(days=1), zone)) if type(end) is date else to_ms(end) + 1
        if start_ms is not None and start_ms >= upper:
            raise ApiError(400, "startDate must not be after endDate.", fields={"startDate": "is after endDate"})
    lower = to_ms(retention_cutoff(at))
    return (lower if start_ms is None else max(lower, start_ms)), upper


def _where(args, lower, upper):
    """SQL conditions and parameters for the list filters over [lower, upper)."""
    clauses, params = ["timestamp >= ?"], [lower]
    if upper is not None:
        clauses.append("timestamp < ?")
        params.append(upper)
    more, more_params = filters(args)
    if args.get("type") and not args.get("status"):
        # Always true (a CHECK constraint), but it lets SQLite walk the (type, status,
        # timestamp) index in timestamp order per range and stop at the page's end,
        # instead of sorting every row of the type.
        more.append(f"status IN ({', '.join('?' * len(STATUSES))})")
        more_params += STATUSES
    return " AND ".join(clauses + more), params + more_params


def list_activities(args, at):
    """{activities, total, limit, offset, hasMore} for validated query args."""
    lower, upper = _range(args, at)
    where, params = _where(args, lower, upper)
    order = "DESC" if args["sort"] == "newest" else "ASC"
    rows = raw_connection().execute(f"SELECT {COLUMNS} FROM agent_activity WHERE {where} "
                                    f"ORDER BY timestamp {order}, id {order} LIMIT ? OFFSET ?",
                                    (*params, args["limit"], args["offset"])).fetchall()
    total = agent_totals.count(args, lower, upper, _where, filters)
    return {"activities": [_record(r) for r in rows], "total": total, "limit": args["limit"],
            "offset": args["offset"], "hasMore": args["offset"] + len(rows) < total}


def csv_chunks(args, at):
    """The filtered records as RFC 4180 CSV text, header first, a few hundred rows per chunk."""
    # The range is checked now, not when the download has begun: a bad one is a 400, not a 500.
    return _csv_rows(args, _range(args, at))


def _csv_rows(args, bounds):
    where, params = _where(args, *bounds)
    order = "DESC" if args["sort"] == "newest" else "ASC"
    cursor = raw_connection().execute(
        f"SELECT {COLUMNS} FROM agent_activity WHERE {where} "
        f"ORDER BY timestamp {order}, id {order} LIMIT ? OFFSET ?",
        (*params, args["limit"], args["offset"]))
    buffer = io.StringIO()
    writer = csv.writer(buffer)     # quotes as needed, doubles quotes, CRLF line ends
    writer.writerow(CSV_HEADER)
    while True:
        rows = cursor.fetchmany(CSV_BATCH)
        for row in rows:
            writer.writerow([row[0], iso(from_ms(row[4])), *map(neutralise, (row[1], row[2], row[3])),
                             row[5], row[6], neutralise(row[7]), neutralise(row[8] or "")])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        if len(rows) < CSV_BATCH:
            return


def neutralise(cell):
    """A text cell a spreadsheet would run as a formula gets a leading apostrophe."""
    if isinstance(cell, str) and cell.startswith(FORMULA_STARTS):
        return "'" + cell
    return cell


def today_filename(at):
    """activities-YYYY-MM-DD.csv, with today's date in the configured time zone."""
    return f"activities-{at.astimezone(local_zone()).date().isoformat()}.csv"


def activities_after(last_id, at, limit):
    """Records with id > last_id in id order (the stream's cursor), within retention."""
    rows = raw_connection().execute(
        f"SELECT {COLUMNS} FROM agent_activity WHERE id > ? AND timestamp >= ? ORDER BY id LIMIT ?",
        (last_id, to_ms(retention_cutoff(at)), limit)).fetchall()
    return [_record(r) for r in rows]


def latest_id():
    """The highest id handed out so far (0 for none); ids are never reused."""
    row = raw_connection().execute("SELECT seq FROM sqlite_sequence WHERE name = 'agent_activity'").fetchone()
    return row[0] if row else 0
