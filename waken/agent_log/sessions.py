"""Agent sessions: one page of sessions newest first, and one session's summary and records."""
from waken import db
from waken.agent_log.filters import STATUSES, bounds, retention_cutoff, where
from waken.agent_log.prices import usd
from waken.agent_log.store import COLUMNS, record_of
from waken.errors import NotFound
from waken.timeutil import from_ms, to_ms

FILTERS = ("type", "status", "agent")


def list_sessions(args, at):
    """{sessions, total, limit, offset, hasMore}: sessions with records in the range, newest first.

    Without type, status or agent filters the page and total come from agent_session (one row
    per session, its last_at index in order). With them, the matching records are grouped by
    session, which reads those records' index entries. Either way the summaries are then read
    for the page's sessions only.
    """
    lower, upper = bounds(args, at)
    if any(args.get(name) for name in FILTERS):
        clause, params = where(args, lower, upper)
        scope = f"FROM agent_activity WHERE {clause} AND session IS NOT NULL"
        total = db.value(f"SELECT count(DISTINCT session) {scope}", params)
        keys = [row[0] for row in db.query(
            f"SELECT session, max(timestamp) AS last {scope} GROUP BY session ORDER BY last DESC, session DESC "
            "LIMIT ? OFFSET ?", (*params, args["limit"], args["offset"]))]
    else:
        clause, params = "last_at >= ?", [lower]
        if upper is not None:
            clause += " AND first_at < ?"
            params.append(upper)
        total = db.value(f"SELECT count(*) FROM agent_session WHERE {clause}", params)
        keys = [row[0] for row in db.query(
            f"SELECT session FROM agent_session WHERE {clause} ORDER BY last_at DESC, session DESC LIMIT ? OFFSET ?",
            (*params, args["limit"], args["offset"]))]
    found = summaries(keys)
    return {"sessions": [found[key] for key in keys if key in found], "total": total,
            "limit": args["limit"], "offset": args["offset"], "hasMore": args["offset"] + len(keys) < total}


def summaries(keys):
    """{key: summary} for the given session keys, from agent_session and agent_session_part."""
    if not keys:
        return {}
    marks = ", ".join("?" * len(keys))
    found = {}
    for row in db.query(f"SELECT * FROM agent_session WHERE session IN ({marks})", keys):
        found[row["session"]] = {
            "key": row["session"], "start": from_ms(row["first_at"]), "end": from_ms(row["last_at"]),
            "durationMs": row["last_at"] - row["first_at"], "records": row["records"],
            "byStatus": {status: row[status] for status in STATUSES}, "tokensUsed": row["tokens_used"],
            "costUsd": usd(row["cost_usd"]), "agents": [], "models": []}
    for row in db.query(f"SELECT session, agent, model FROM agent_session_part WHERE session IN ({marks}) "
                        "ORDER BY session, records DESC, agent, model", keys):
        summary = found.get(row["session"])
        if summary is None:
            continue
        for name, bag in ((row["agent"], summary["agents"]), (row["model"], summary["models"])):
            if name and name not in bag:
                bag.append(name)
    return found


def get_session(key, args, at):
    """{session, activities, total, limit, offset, hasMore}: a session's records in time order, one page."""
    summary = summaries([key]).get(key)
    cutoff = to_ms(retention_cutoff(at))
    if summary is None or to_ms(summary["end"]) < cutoff:
        raise NotFound(f"There is no agent session '{key[:128]}'.")
    rows = db.query(f"SELECT {COLUMNS} FROM agent_activity WHERE session = ? AND timestamp >= ? "
                    "ORDER BY timestamp, id LIMIT ? OFFSET ?", (key, cutoff, args["limit"], args["offset"]))
    return {"session": summary, "activities": [record_of(row) for row in rows], "total": summary["records"],
            "limit": args["limit"], "offset": args["offset"],
            "hasMore": args["offset"] + len(rows) < summary["records"]}
