"""Cost and usage statistics of the agent log: the total cost, by model, by agent, and cost per local day.

Like totals.py, the window is cut in tiers so that no query reads hundreds of thousands of rows:
whole UTC days from agent_activity_usage_daily, the 15-minute buckets of the day the retention
cutoff cuts through from agent_activity_usage, and the minutes before its first whole bucket from
the table itself. Cost per local day is needed for the trend's days only, so only those days of
the 15-minute table are read for it. Every tier is exact, so the sums are. They add with total(),
not sum(): a record may hold up to 2**63 - 1 tokens, and a sum past that is a float, not an error.
"""
from datetime import datetime, time, timedelta

from waken import db
from waken.agent_log.filters import conditions
from waken.agent_log.prices import usd
from waken.agent_log.totals import BUCKET_MS, DAY_MS, ceil_to
from waken.timeutil import from_ms, to_ms

MODEL = "coalesce(CASE WHEN json_valid(metadata) THEN substr(json_extract(metadata, '$.model'), 1, 200) END, '')"


def _tiers(args, cutoff_ms):
    """(agent, model, count, tokens, micro-dollars) rows from the cutoff on, tier by tier."""
    first_bucket, first_day = ceil_to(cutoff_ms, BUCKET_MS), ceil_to(cutoff_ms, DAY_MS)
    clauses, params = conditions(args)
    extra = "".join(" AND " + c for c in clauses)
    yield from db.execute(
        "SELECT agent, model, sum(count), total(tokens_used), total(cost_usd) FROM agent_activity_usage_daily "
        f"WHERE day >= ?{extra} GROUP BY 1, 2", (first_day, *params))
    yield from db.execute(
        "SELECT agent, model, sum(count), total(tokens_used), total(cost_usd) FROM agent_activity_usage "
        f"WHERE bucket >= ? AND bucket < ?{extra} GROUP BY 1, 2", (first_bucket, first_day, *params))
    yield from db.execute(
        f"SELECT coalesce(agent, ''), {MODEL}, count(*), total(tokens_used), "
        f"total(cost_usd) FROM agent_activity WHERE timestamp >= ? AND timestamp < ?{extra} "
        "GROUP BY 1, 2", (cutoff_ms, first_bucket, *params))


def _cost_by_bucket(args, cutoff_ms, since_ms):
    """(15-minute bucket, micro-dollars) from max(cutoff, since) on."""
    lower = max(cutoff_ms, since_ms)
    first_bucket = ceil_to(lower, BUCKET_MS)
    clauses, params = conditions(args)
    extra = "".join(" AND " + c for c in clauses)
    yield from db.execute(
        f"SELECT bucket, total(cost_usd) FROM agent_activity_usage WHERE bucket >= ?{extra} GROUP BY 1",
        (first_bucket, *params))
    yield from db.execute(
        f"SELECT timestamp - timestamp % {BUCKET_MS}, total(cost_usd) FROM agent_activity "
        f"WHERE timestamp >= ? AND timestamp < ?{extra} GROUP BY 1", (lower, first_bucket, *params))


def usage(args, cutoff_ms, zone, today, days):
    """{costUsd, byModel, byAgent, costByDay} with costByDay for the last `days` local dates;
    records without a model or agent count in the total only."""
    by_agent, by_model, cost = {}, {}, 0
    for agent, model, count, tokens, micro in _tiers(args, cutoff_ms):
        cost += micro
        for table, name in ((by_agent, agent), (by_model, model)):
            entry = table.setdefault(name, [0, 0, 0])
            entry[0] += count
            entry[1] += tokens
            entry[2] += micro
    since = to_ms(datetime.combine(today - timedelta(days=days - 1), time(), zone))
    by_day = {}
    for bucket, micro in _cost_by_bucket(args, cutoff_ms, since):
        if micro:
            # Every real UTC offset is a multiple of 15 minutes, so a bucket lies in one local day.
            day = min(from_ms(bucket).astimezone(zone).date(), today)
            by_day[day] = by_day.get(day, 0) + micro
    return {"costUsd": usd(cost), "byModel": _sorted(by_model), "byAgent": _sorted(by_agent),
            "costByDay": by_day}


def _sorted(table):
    return {name: {"records": r, "tokensUsed": t, "costUsd": usd(c)}
            for name, (r, t, c) in sorted(table.items(), key=lambda item: (-item[1][2], -item[1][0], item[0])) if name}
