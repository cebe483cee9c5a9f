"""Cost and usage statistics of the agent log: the total cost, by model, by agent, and cost per local day."""
from waken import db
from waken.agent_log.filters import conditions
from waken.agent_log.prices import usd
from waken.agent_log.totals import BUCKET_MS, ceil_to
from waken.timeutil import from_ms

MODEL = "coalesce(CASE WHEN json_valid(metadata) THEN substr(json_extract(metadata, '$.model'), 1, 200) END, '')"


def _grouped(args, cutoff_ms, key, table_key):
    """(key, count, tokens, micro-dollars) from the cutoff on, grouped by key: whole buckets from the
    trigger-kept agent_activity_usage, the one the cutoff cuts through from the table (as stats.py does)."""
    first = ceil_to(cutoff_ms, BUCKET_MS)
    clauses, params = conditions(args)
    extra = "".join(" AND " + c for c in clauses)
    totals = {}
    for sql, values in (
            (f"SELECT {key}, sum(count), sum(tokens_used), sum(cost_usd) FROM agent_activity_usage "
             f"WHERE bucket >= ?{extra} GROUP BY 1", (first, *params)),
            (f"SELECT {table_key}, count(*), coalesce(sum(tokens_used), 0), coalesce(sum(cost_usd), 0) "
             f"FROM agent_activity WHERE timestamp >= ? AND timestamp < ?{extra} GROUP BY 1",
             (cutoff_ms, first, *params))):
        for name, count, tokens, cost in db.execute(sql, values):
            entry = totals.setdefault(name, [0, 0, 0])
            entry[0] += count
            entry[1] += tokens
            entry[2] += cost
    return totals


def usage(args, cutoff_ms, zone, today):
    """{costUsd, byModel, byAgent, costByDay}; days are local dates, records without a model or agent
    count in the total only."""
    by_day = {}
    for bucket, (_, _, cost) in _grouped(args, cutoff_ms, "bucket", f"timestamp - timestamp % {BUCKET_MS}").items():
        if cost:
            day = min(from_ms(bucket).astimezone(zone).date(), today)
            by_day[day] = by_day.get(day, 0) + cost
    by_agent = _grouped(args, cutoff_ms, "agent", "coalesce(agent, '')")
    by_model = _grouped(args, cutoff_ms, "model", MODEL)
    return {"costUsd": usd(sum(by_day.values())), "byModel": _sorted(by_model), "byAgent": _sorted(by_agent),
            "costByDay": by_day}


def _sorted(table):
    return {name: {"records": r, "tokensUsed": t, "costUsd": usd(c)}
            for name, (r, t, c) in sorted(table.items(), key=lambda item: (-item[1][2], -item[1][0], item[0])) if name}
