"""OTLP records -> agent activity fields (one per mapped record), MERGED, or a reason to reject.

Claude Code's log events are mapped in waken/otlp/events.py, GenAI spans in waken/otlp/spans.py,
Claude Code's usage metrics in waken/otlp/metrics.py.
"""
from waken.otlp.events import log_key, map_log, resource_digest  # noqa: F401  (the mapping's API)
from waken.otlp.fields import MERGED, Rejected, summary  # noqa: F401
from waken.otlp.spans import map_spans
from waken.otlp.values import attributes


def map_records(signal, message):
    """Each record of an Export…ServiceRequest in order: its activity fields, MERGED, or Rejected."""
    if signal == "traces":
        yield from map_spans(message)
        return
    for resource_part in message.resource_logs:
        resource_attrs = attributes(resource_part.resource.attributes)
        resource_hash = resource_digest(resource_part.resource)
        for scope in resource_part.scope_logs:
            for record in scope.log_records:
                try:
                    yield map_log(resource_hash, resource_attrs, record)
                except Rejected as why:
                    yield why
                except (OverflowError, ValueError, OSError):
                    yield Rejected("a timestamp is outside the range of dates")
