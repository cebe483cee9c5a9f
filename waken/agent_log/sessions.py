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

    The page and total come from agent_session (one row per session, its last_at index in
    order). With type, status or agent filters each session in the range is tested with one
    seek into the trigger-kept agent_session_mix (or agent_session_part for an agent alone),
    never by reading its records; only when dates narrow the range is the match also looked
    up among the session's records in the range (its own index). Either way the summaries are
    then read for the page's sessions only.
    """
    lower, upper = bounds(args, at)
    clause, params = "last_at >= ?", [lower]
    if upper is not None:
        clause += " AND first_at < ?"
        params.append(upper)
    if any(args.get(name) for name in FILTERS):
        more, more_params = _matching(args, lower, upper, at)
        clause += more
        params += more_params
    total = db.value(f"SELECT count(*) FROM agent_session s WHERE {clause}", params)
    keys = [row[0] for row in db.query(
        f"SELECT session FROM agent_session s WHERE {clause} ORDER BY last_at DESC, session DESC LIMIT ? OFFSET ?",
        (*params, args["limit"], args["offset"]))]
    found = summaries(keys)
    return {"sessions": [found[key] for key in keys if key in found], "total": total,
            "limit": args["limit"], "offset": args["offset"], "hasMore": args["offset"] + len(keys) < total}


def _matching(args, lower, upper, at):
    """(SQL, params) keeping sessions `s` with a record that matches the type, status and agent filters."""
    if args.get("agent") and not args.get("type") and not args.get("status"):
        sql = " AND EXISTS (SELECT 1 FROM agent_session_part p WHERE p.session = s.session AND p.agent = ?)"
        params = [args["agent"]]
    else:
        # The key is (session, status, type, agent): every status is named so that the seek
        # reaches type and agent.
        statuses = args.get("status") or STATUSES
        sql = (" AND EXISTS (SELECT 1 FROM agent_session_mix m WHERE m.session = s.session"
               f" AND m.status IN ({', '.join('?' * len(statuses))})")
        params = list(statuses)
        if args.get("type"):
            sql += f" AND m.type IN ({', '.join('?' * len(args['type']))})"
            params += args["type"]
        if args.get("agent"):
            sql += " AND m.agent = ?"
            params.append(args["agent"])
        sql += ")"
    if upper is not None or lower > to_ms(retention_cutoff(at)):
        # The mixes cover a session's whole life; dates ask for a match inside them.
        clause, dated = where({**args, "session": None}, lower, upper)
        sql += (" AND EXISTS (SELECT 1 FROM agent_activity a INDEXED BY agent_activity_session"
                f" WHERE a.session = s.session AND {clause})")
        params += dated
    return sql, params


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
        raise NotFound(f"There is no agent session '{key[:128]}'.", code="agent_session.not_found")
    rows = db.query(f"SELECT {COLUMNS} FROM agent_activity WHERE session = ? AND timestamp >= ? "
                    "ORDER BY timestamp, id LIMIT ? OFFSET ?", (key, cutoff, args["limit"], args["offset"]))
    return {"session": summary, "activities": [record_of(row) for row in rows], "total": summary["records"],
            "limit": args["limit"], "offset": args["offset"],
            "hasMore": args["offset"] + len(rows) < summary["records"]}
