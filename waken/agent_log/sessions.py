"""Agent sessions: one page of sessions newest first, and one session's summary and records."""
import json

from waken import db
from waken.agent_log import search
from waken.agent_log.filters import STATUSES, bounds, retention_cutoff, where
from waken.agent_log.prices import usd
from waken.agent_log.store import COLUMNS, record_of
from waken.errors import NotFound
from waken.timeutil import from_ms, to_ms

FILTERS = ("type", "status", "agent")


def list_sessions(args, at):
    """{sessions, total, limit, offset, hasMore}: sessions with records in the range, newest first.

    The page and total come from agent_session (one row per session, its last_at index in
    order). A status alone is read from its counts there. Other type, status or agent filters
    test each session with one seek into the trigger-kept agent_session_mix (or
    agent_session_part for an agent alone), never by reading its records; one type, with or
    without an agent and statuses, is counted from the mix's own index instead (_indexed).
    Only when dates narrow the range is the match also looked up among the session's records
    in the range (its own index). Either way the summaries are then read for the page's sessions only.
    """
    lower, upper = bounds(args, at)
    if args.get("q"):
        return _searched(args, lower, upper)
    clause, params = "", []
    if upper is not None:
        clause, params = " AND first_at < ?", [upper]
    if any(args.get(name) for name in FILTERS):
        more, more_params = _matching(args, lower, upper, at)
        clause += more
        params += more_params
    indexed = _indexed(args) if upper is None and lower <= to_ms(retention_cutoff(at)) else None
    if indexed is None:
        total = db.value(f"SELECT count(*) FROM agent_session s WHERE last_at >= ?{clause}", (lower, *params))
    else:
        # Sessions whose latest record is past retention but not yet swept are taken off.
        total = (db.value(f"SELECT count(*) FROM ({indexed[0]})", indexed[1])
                 - db.value(f"SELECT count(*) FROM agent_session s WHERE last_at < ?{clause}", (lower, *params)))
        if total and (args["offset"] + args["limit"]) * _in_range(lower) > total * total:
            # Few matches among many sessions: a walk newest first would test most sessions, so
            # the matching ones come from the index and are ordered by their latest record.
            clause, params = f" AND s.session IN ({indexed[0]})", indexed[1]
    keys = [] if not total else [row[0] for row in db.query(
        f"SELECT session FROM agent_session s WHERE last_at >= ?{clause} ORDER BY last_at DESC, session DESC "
        "LIMIT ? OFFSET ?", (lower, *params, args["limit"], args["offset"]))]
    found = summaries(keys)
    return {"sessions": [found[key] for key in keys if key in found], "total": total,
            "limit": args["limit"], "offset": args["offset"], "hasMore": args["offset"] + len(keys) < total}


def _searched(args, lower, upper):
    """The list with q: the sessions of the records search.find returns, newest (latest record) first."""
    rows, partial = search.find(args, lower, upper, search.SESSIONS_BUDGET_SECONDS)
    keys = json.dumps(sorted({row[2] for row in rows if row[2] is not None}))
    found = db.query("SELECT session FROM agent_session WHERE session IN (SELECT value FROM json_each(?)) "
                     "ORDER BY last_at DESC, session DESC", (keys,))
    page = [row[0] for row in found[args["offset"]:args["offset"] + args["limit"]]]
    summary = summaries(page)
    return {"sessions": [summary[key] for key in page if key in summary], "total": len(found),
            "limit": args["limit"], "offset": args["offset"],
            "hasMore": args["offset"] + len(page) < len(found), "partial": partial}


def _in_range(lower):
    return db.value("SELECT count(*) FROM agent_session WHERE last_at >= ?", (lower,))


def _indexed(args):
    """(SELECT of the matching session keys, params) for exactly one type, else None.

    agent_session_mix_type lists a type's sessions in key order, so their count is one pass
    over that range, the agent and statuses tested on the way; other filters test each session.
    """
    types, agent, statuses = args.get("type") or [], args.get("agent"), args.get("status")
    if len(types) != 1:
        return None
    sql = "SELECT DISTINCT session FROM agent_session_mix INDEXED BY agent_session_mix_type WHERE type = ?"
    params = [types[0]]
    if agent:
        sql += " AND agent = ?"
        params.append(agent)
    if statuses:
        sql += f" AND status IN ({', '.join('?' * len(statuses))})"
        params += statuses
    return sql, params


def _matching(args, lower, upper, at):
    """(SQL, params) keeping sessions `s` with a record that matches the type, status and agent filters."""
    if args.get("status") and not args.get("type") and not args.get("agent"):
        # agent_session counts each status: nothing to look up.
        sql = " AND (" + " OR ".join(f"s.{status} > 0" for status in STATUSES if status in args["status"]) + ")"
        params = []
    elif args.get("agent") and not args.get("type") and not args.get("status"):
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
