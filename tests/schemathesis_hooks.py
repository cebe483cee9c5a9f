"""schemathesis hooks for the two rules the OpenAPI document can state only in words.

- GET /api/activities, /api/activities/export and /api/agent-sessions: startDate is not after endDate (a rule
  between two parameters): a pair the wrong way round is swapped.
- POST /api/activities: timestamp lies within the retention window and not in the future
  (a rule relative to the server's clock): a generated one is left out, so it means now.
Every other generated request goes to the server exactly as generated.
"""
from datetime import UTC, date, datetime, timedelta

import schemathesis

from waken.schemas.fields import DateOrTime


@schemathesis.hook
def before_call(ctx, case, **kwargs):
    if case.operation.path not in ("/api/activities", "/api/activities/export", "/api/agent-sessions"):
        return
    if case.method.upper() == "POST" and isinstance(case.body, dict):
        case.body = {k: v for k, v in case.body.items() if k != "timestamp"}
    query = case.query or {}
    if case.method.upper() == "GET" and _readable(query.get("startDate")) and _readable(query.get("endDate")):
        if not _in_order(query["startDate"], query["endDate"]):
            query["startDate"], query["endDate"] = query["endDate"], query["startDate"]


def _readable(value):
    try:
        DateOrTime().deserialize(value)
    except Exception:   # not a date the server reads: it answers 400 on its own terms
        return False
    return isinstance(value, str)


def _in_order(start_text, end_text):
    # As the server reads them (in UTC, the test server's zone): a date starts at its
    # midnight, a date-only end runs through its whole day, a date-time end is inclusive.
    start, end = DateOrTime().deserialize(start_text), DateOrTime().deserialize(end_text)
    upper = _ms(end + timedelta(days=1)) if type(end) is date else _ms(end) + 1
    return _ms(start) < upper


def _ms(value):
    if type(value) is date:
        value = datetime(value.year, value.month, value.day, tzinfo=UTC)
    return int(value.timestamp() * 1000)
