"""Which agent records a query means: the retention window, local dates, and the filters as SQL."""
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from waken import settings
from waken.errors import Invalid
from waken.timeutil import to_ms

STATUSES = ("success", "error", "pending", "running")   # the CHECK constraint in schema.sql


def retention_cutoff(at):
    """Rows older than this are past retention: never read, deleted by the sweep."""
    return at - timedelta(days=settings.get("agent_retention_days"))


def local_zone():
    """The configured time zone, in which dates, days and hours are counted."""
    return ZoneInfo(settings.get("timezone"))


def _local_midnight(day, zone):
    return datetime.combine(day, time(), zone)


def bounds(args, at):
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
            raise Invalid("startDate must not be after endDate.", field="startDate", code="query.date_range_invalid")
    lower = to_ms(retention_cutoff(at))
    return (lower if start_ms is None else max(lower, start_ms)), upper


def conditions(args):
    """Conditions and parameters for the type, status and agent filters (same columns in the rollups)."""
    clauses, params = [], []
    for column in ("type", "status"):
        if args.get(column):
            clauses.append(f"{column} IN ({', '.join('?' * len(args[column]))})")
            params += args[column]
    if args.get("agent"):
        clauses.append("agent = ?")
        params.append(args["agent"])
    return clauses, params


def where(args, lower, upper):
    """The WHERE clause and parameters of agent_activity rows matching the filters in [lower, upper)."""
    clauses, params = ["timestamp >= ?"], [lower]
    if upper is not None:
        clauses.append("timestamp < ?")
        params.append(upper)
    more, more_params = conditions(args)
    if args.get("session"):
        # Not in the rollups' keys: totals.py counts a session's rows from agent_activity_session.
        more.append("session = ?")
        more_params.append(args["session"])
    if args.get("type") and not args.get("status"):
        # Always true (a CHECK constraint), but it lets SQLite walk the (type, status,
        # timestamp) index in timestamp order per range and stop at the page's end,
        # instead of sorting every row of the type.
        more.append(f"status IN ({', '.join('?' * len(STATUSES))})")
        more_params += STATUSES
    return " AND ".join(clauses + more), params + more_params
