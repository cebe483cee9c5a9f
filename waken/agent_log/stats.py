"""Statistics of the agent log: totals, by type and status, per local day and hour."""
from datetime import timedelta

from waken import db
from waken.agent_log import usage
from waken.agent_log.filters import STATUSES, conditions, local_zone, retention_cutoff
from waken.agent_log.totals import BUCKET_MS, ceil_to
from waken.timeutil import from_ms, to_ms

HOURLY_DAYS = 30
TREND_DAYS = 7


def _per_status(count):
    return ", ".join(f"sum(CASE WHEN status = '{status}' THEN {count} ELSE 0 END)" for status in STATUSES)


def _stat_rows(args, cutoff_ms):
    """(bucket, type, count, tokens, duration sum, durations, *count per status) from the cutoff on.

    Whole buckets come from the trigger-kept rollup; the one bucket the cutoff cuts
    through is counted from the table itself, so the totals match the list exactly.
    Grouping by the rollup's key prefix (bucket, type) needs no sort. Tokens and durations add
    with total() (see usage.py): past SQLite's integers a sum is a float, not an error.
    """
    first = ceil_to(cutoff_ms, BUCKET_MS)
    clauses, params = conditions(args)
    extra = "".join(" AND " + c for c in clauses)
    yield from db.execute(
        "SELECT bucket, type, sum(count), total(tokens_used), total(duration_ms), sum(durations), "
        f"{_per_status('count')} FROM agent_activity_rollup WHERE bucket >= ?{extra} GROUP BY bucket, type",
        (first, *params))
    yield from db.execute(
        "SELECT timestamp - timestamp % ?, type, count(*), total(tokens_used), "
        f"total(duration_ms), count(duration_ms), {_per_status(1)} FROM agent_activity "
        f"WHERE timestamp >= ? AND timestamp < ?{extra} GROUP BY 1, 2",
        (BUCKET_MS, cutoff_ms, first, *params))


def stats(args, at):
    """Counts over the retention window by local day and hour (DST-correct), with totals."""
    zone = local_zone()
    today = at.astimezone(zone).date()
    cutoff = retention_cutoff(at)
    first_day = cutoff.astimezone(zone).date()
    days = [first_day + timedelta(days=n) for n in range((today - first_day).days + 1)]
    heat = dict.fromkeys(days, 0)
    trend = {today - timedelta(days=n): [0, 0, 0] for n in range(TREND_DAYS - 1, -1, -1)}
    hourly = [0] * 24
    hourly_from = today - timedelta(days=HOURLY_DAYS - 1)
    by_type, by_status = {}, [0] * len(STATUSES)
    tokens = duration = durations = 0
    local_of = {}
    for bucket, kind, count, bucket_tokens, bucket_duration, bucket_durations, *statuses in _stat_rows(
            args, to_ms(cutoff)):
        if bucket not in local_of:
            # Every real UTC offset is a multiple of 15 minutes, so a bucket lies in one local hour.
            local = from_ms(bucket).astimezone(zone)
            local_of[bucket] = (min(local.date(), today), local.hour)
        day, hour = local_of[bucket]
        heat[day] = heat.get(day, 0) + count
        if day in trend:
            trend[day][0] += count
            trend[day][1] += statuses[0]
            trend[day][2] += statuses[1]
        if day >= hourly_from:
            hourly[hour] += count
        by_type[kind] = by_type.get(kind, 0) + count
        by_status = [a + b for a, b in zip(by_status, statuses)]
        tokens += bucket_tokens
        duration += bucket_duration
        durations += bucket_durations
    week_start = today - timedelta(days=today.weekday())
    spent = usage.usage(args, to_ms(cutoff), zone, today, TREND_DAYS)
    return {
        "total": sum(heat.values()),
        "today": heat.get(today, 0),
        "thisWeek": sum(c for day, c in heat.items() if day >= week_start),
        "byType": dict(sorted(by_type.items(), key=lambda item: (-item[1], item[0]))),
        "byStatus": dict(zip(STATUSES, by_status)),
        "heatmap": [{"day": day.isoformat(), "count": heat[day]} for day in days],
        "trend": [{"day": day.isoformat(), "count": c, "success": s, "errors": e,
                   "costUsd": spent["costByDay"].get(day, 0) / 1_000_000} for day, (c, s, e) in trend.items()],
        "hourly": [{"hour": f"{hour:02d}", "count": hourly[hour]} for hour in range(24)],
        "tokensUsed": tokens,
        "avgDurationMs": round(duration / durations) if durations else None,
        "costUsd": spent["costUsd"], "byModel": spent["byModel"], "byAgent": spent["byAgent"],
    }
