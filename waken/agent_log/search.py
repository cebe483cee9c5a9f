"""Searching the agent log (q=): one FTS5 trigram phrase, or a bounded scan for a query shorter than a trigram.

The index (schema.sql, agent_activity_search) holds a record's description and the metadata
keys tool, tool_name, command, path and file_path. A search is bounded twice: the query is at
most MAX_QUERY_CHARS characters, and it collects at most MAX_MATCHES matching records, the
most recently stored first; a query of one or two characters (no trigram to look up) reads at
most the SCAN_RECORDS most recently stored records. Where a bound cut the search short, the
answer says `partial`.
"""
from waken import db
from waken.agent_log.filters import where

MAX_QUERY_CHARS = 200
MAX_MATCHES = 2000
SCAN_RECORDS = 20_000
TRIGRAM = 3


def phrase(q):
    """The user's text as one FTS5 phrase: no operator, column filter, prefix or NEAR inside it means anything."""
    return '"' + q.replace('"', '""') + '"'


def like_pattern(q):
    r"""A LIKE pattern finding q anywhere, its own % _ and \ taken literally (ESCAPE '\')."""
    return "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def find(args, lower, upper):
    """(rows of (id, timestamp, session), partial): records matching q and the filters in [lower, upper)."""
    clause, params = where(args, lower, upper)
    q = args["q"]
    if len(q) >= TRIGRAM:
        # The index walks its matches newest id first; each is checked against the filters
        # by its id (CROSS JOIN keeps that order), and the walk stops after MAX_MATCHES.
        rows = db.query(
            "SELECT a.id, a.timestamp, a.session FROM agent_activity_search s CROSS JOIN agent_activity a "
            f"ON a.id = s.rowid WHERE agent_activity_search MATCH ? AND {clause} ORDER BY s.rowid DESC LIMIT ?",
            (phrase(q), *params, MAX_MATCHES + 1))
        return rows[:MAX_MATCHES], len(rows) > MAX_MATCHES
    # Fewer than three characters have no trigram: read the newest stored records instead.
    floor = (db.value("SELECT max(id) FROM agent_activity") or 0) - SCAN_RECORDS
    rows = db.query(
        f"SELECT id, timestamp, session FROM agent_activity_search_text WHERE id > ? AND {clause} "
        "AND text LIKE ? ESCAPE '\\' ORDER BY id DESC LIMIT ?",
        (floor, *params, like_pattern(q), MAX_MATCHES + 1))
    older = floor > 0 and db.value("SELECT 1 FROM agent_activity WHERE id <= ? AND timestamp >= ? LIMIT 1",
                                   (floor, lower)) is not None
    return rows[:MAX_MATCHES], len(rows) > MAX_MATCHES or older


def page(rows, args):
    """The ids of one page of found rows, in the list's order (timestamp, then id)."""
    ordered = sorted(rows, key=lambda row: (row[1], row[0]), reverse=args["sort"] == "newest")
    return [row[0] for row in ordered[args["offset"]:args["offset"] + args["limit"]]]
