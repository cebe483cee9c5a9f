"""Exact totals of filtered agent-activity lists, from the day and 15-minute rollups plus the edges.

Counting a million index entries for every list page takes tens of milliseconds, and
the 15-minute rollup alone is no faster (its key holds every type/status/agent mix:
hundreds of thousands of rows for 30 days). So [lower, upper) is cut in three tiers:
whole UTC days from agent_activity_daily, the whole 15-minute buckets of the days at
either end from agent_activity_rollup, and the partial buckets at the very edges from
the table's own indexes. All three are exact, so the sum is.
"""
from waken import db
from waken.agent_log.filters import conditions, where

BUCKET_MS = 15 * 60 * 1000      # agent_activity_rollup's bucket (schema.sql)
DAY_MS = 24 * 60 * 60 * 1000    # agent_activity_daily's day (schema.sql)


def count(args, lower, upper):
    """Rows matching the filters in [lower, upper) (upper None: no end).

    The rollups' keys hold every filter column but session, so the filters apply to them as to
    the table; one session's rows are counted from its own index.
    """
    if args.get("session"):
        clause, params = where(args, lower, upper)
        return db.value(f"SELECT count(*) FROM agent_activity WHERE {clause}", params)
    first_day = ceil_to(lower, DAY_MS)
    last_day = None if upper is None else upper // DAY_MS * DAY_MS
    if last_day is not None and last_day <= first_day:
        return _buckets(args, lower, upper)
    total = _sum("agent_activity_daily", "day", first_day, last_day, args)
    total += _buckets(args, lower, first_day)
    if upper is not None:
        total += _buckets(args, last_day, upper)
    return total


def _buckets(args, lower, upper):
    """Rows in [lower, upper), a span within one day: whole buckets from the rollup, edges from the table."""
    if lower >= upper:
        return 0
    first = ceil_to(lower, BUCKET_MS)
    last = upper // BUCKET_MS * BUCKET_MS
    if last <= first:
        return _rows(args, lower, upper)
    total = _sum("agent_activity_rollup", "bucket", first, last, args)
    return total + _rows(args, lower, first) + _rows(args, last, upper)


def _sum(table, key, start, end, args):
    clauses, params = conditions(args)
    extra = "".join(" AND " + c for c in clauses)
    bound = "" if end is None else f" AND {key} < ?"
    return db.value(f"SELECT coalesce(sum(count), 0) FROM {table} WHERE {key} >= ?{bound}{extra}",
                    (start, *([] if end is None else [end]), *params))


def _rows(args, lower, upper):
    if lower >= upper:
        return 0
    clause, params = where(args, lower, upper)
    return db.value(f"SELECT count(*) FROM agent_activity WHERE {clause}", params)


def ceil_to(ms, step):
    """ms rounded up to a whole multiple of step (a bucket or day start)."""
    return -(-ms // step) * step
