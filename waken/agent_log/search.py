"""Searching the agent log (q=): one FTS5 trigram phrase, or a bounded scan for a query shorter than a trigram.

The index (schema.sql, agent_activity_search) holds a record's description and the metadata
keys tool, tool_name, command, path and file_path. A search is bounded three ways: the query
is at most MAX_QUERY_CHARS characters; it collects at most MAX_MATCHES matching records, the
most recently stored first; and SQLite may spend at most BUDGET_SECONDS of the thread's CPU
on it (SESSIONS_BUDGET_SECONDS for the session list), since a phrase of common trigrams that
rarely stand together walks their long lists. A query of
one or two characters (no trigram to look up) reads at most the SCAN_RECORDS most recently
stored records. Where a bound cut the search short, the answer says `partial`.
"""
import sqlite3
import time

from waken import db
from waken.agent_log.filters import where

MAX_QUERY_CHARS = 200
MAX_MATCHES = 2000
SCAN_RECORDS = 20_000
BUDGET_SECONDS = 0.03
SESSIONS_BUDGET_SECONDS = 0.012     # the session list's searches: it answers within 20 ms
TRIGRAM = 3
CHECK_EVERY = 100           # SQLite steps between looks at the budget
JSON_ESCAPED = ('"', "\\") + tuple(map(chr, range(32)))


def phrase(q):
    """The user's text as one FTS5 phrase: no operator, column filter, prefix or NEAR inside it means anything."""
    return '"' + q.replace('"', '""') + '"'


def like_pattern(q):
    r"""A LIKE pattern finding q anywhere, its own % _ and \ taken literally (ESCAPE '\')."""
    return "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def find(args, lower, upper, budget=None):
    """(rows of (id, timestamp, session), partial): records matching q and the filters in [lower, upper).

    budget: CPU seconds SQLite may spend (BUDGET_SECONDS when None).
    """
    budget = BUDGET_SECONDS if budget is None else budget
    clause, params = where(args, lower, upper)
    q = args["q"]
    if len(q) >= TRIGRAM:
        # The index walks its matches newest id first; each is checked against the filters
        # by its id (CROSS JOIN keeps that order).
        return _collect(
            "SELECT a.id, a.timestamp, a.session FROM agent_activity_search s CROSS JOIN agent_activity a "
            f"ON a.id = s.rowid WHERE agent_activity_search MATCH ? AND {clause} ORDER BY s.rowid DESC",
            (phrase(q), *params), budget)
    # Fewer than three characters have no trigram: read the newest stored records instead. The
    # stored metadata text (JSON, which escapes only quotes, backslashes and control characters)
    # must hold q before the searched keys are taken out of it.
    floor = (db.value("SELECT max(id) FROM agent_activity") or 0) - SCAN_RECORDS
    pattern = like_pattern(q)
    raw = "%" if any(c in q for c in JSON_ESCAPED) else pattern
    rows, partial = _collect(
        f"SELECT id, timestamp, session FROM agent_activity_search_text WHERE id > ? AND {clause} "
        "AND (description LIKE ? ESCAPE '\\' OR (metadata LIKE ? ESCAPE '\\' AND text LIKE ? ESCAPE '\\')) "
        "ORDER BY id DESC", (floor, *params, pattern, raw, pattern), budget)
    older = floor > 0 and db.value("SELECT 1 FROM agent_activity WHERE id <= ? AND timestamp >= ? LIMIT 1",
                                   (floor, lower)) is not None
    return rows, partial or older


def _collect(sql, params, budget):
    """Up to MAX_MATCHES rows of sql within `budget` CPU seconds, and whether a bound stopped it."""
    conn = db.connection()
    deadline = time.thread_time() + budget
    conn.set_progress_handler(lambda: time.thread_time() > deadline, CHECK_EVERY)
    rows = []
    try:
        for row in conn.execute(sql, params):
            if len(rows) == MAX_MATCHES:
                return rows, True
            rows.append(row)
        return rows, False
    except sqlite3.OperationalError as err:
        if "interrupted" not in str(err):
            raise
        return rows, True       # the rows found before the budget ran out
    finally:
        conn.set_progress_handler(None, 0)


def page(rows, args):
    """The ids of one page of found rows, in the list's order (timestamp, then id)."""
    ordered = sorted(rows, key=lambda row: (row[1], row[0]), reverse=args["sort"] == "newest")
    return [row[0] for row in ordered[args["offset"]:args["offset"] + args["limit"]]]
