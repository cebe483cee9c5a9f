"""A span's agent run across exports: its ancestor stored by an earlier export, or records
stored earlier that a run span sent later claims.

Children end before their parents, so an exporter usually sends them first (every span alone
with a simple processor; a long run's children in earlier batches with the batch processor).
Both directions are settled here, in the write transaction, with bounded reads and no trigger:

- a span whose parent is not in its export looks the parent up by its idempotency key (the
  unique index, one seek) and takes the parent's agent, session and run when it has one;
- an agent run span (invoke_agent, invoke_workflow) claims the records of its trace that are
  still waiting for their run (metadata with parent_span_id and no agent_span_id) inside its time
  span, read through the session index (at most CLAIM_ROWS rows); a stored run of the same
  agent there is the same run (LangGraph's two spans), which then gets the outer span's times
  and the new span is not stored.
"""
import json

from waken import db
from waken.otlp.fields import MERGED
from waken.otlp.spans import RUN_SPANS
from waken.timeutil import to_ms

CLAIM_ROWS = 2000     # rows of a session read when a run span arrives, at most


def settle(data, caller):
    """The record's fields with its agent run from stored rows; MERGED when it is not stored itself."""
    link = data.pop("_lineage")
    metadata = data["metadata"]
    if link["exit"]:
        parent = _row(caller, f"otlp-span:{link['trace']}:{link['exit']}")
        parent_run = parent and parent["meta"].get("agent_span_id")
        if parent_run and link["run"] and parent["agent"] == data["agent"]:
            return MERGED
        if parent_run and not metadata.get("agent_span_id"):
            data.update(agent=parent["agent"], session=parent["session"])
            metadata["agent_span_id"] = parent_run
    if link["run"]:
        return _claim(data, caller, link)
    return data


def _row(caller, key):
    row = db.query_one("SELECT id, agent, session, metadata FROM agent_activity "
                       "WHERE idempotency_caller = ? AND idempotency_key = ?", (caller, key))
    if row is None:
        return None
    return {"id": row["id"], "agent": row["agent"], "session": row["session"],
            "meta": json.loads(row["metadata"] or "{}")}


def _claim(data, caller, link):
    """Give the run's agent and session to its trace's waiting records inside its time span."""
    metadata, trace = data["metadata"], link["trace"]
    start = to_ms(data["timestamp"])
    end = to_ms(link["end"]) if link["end"] else start
    run_span = metadata["span_id"]
    rows = db.query("SELECT id, agent, session, metadata FROM agent_activity INDEXED BY agent_activity_session "
                    "WHERE session IN (?, ?) AND timestamp BETWEEN ? AND ? AND idempotency_caller = ? LIMIT ?",
                    (trace, data["session"], start, end, caller, CLAIM_ROWS))
    waiting, same_run = [], None
    for row in rows:
        text = row["metadata"]
        if not text or trace not in text:      # cheap test before parsing
            continue
        meta = json.loads(text)
        if meta.get("trace_id") != trace or meta.get("span_id") == run_span:
            continue
        if "agent_span_id" not in meta and meta.get("parent_span_id"):
            waiting.append((row["id"], meta))
        elif (same_run is None and meta.get("operation") in RUN_SPANS and meta.get("agent_span_id") == meta.get("span_id")
              and row["agent"] == data["agent"]):
            same_run = (row["id"], meta["span_id"])
    settled_by = same_run[1] if same_run else run_span
    if waiting:
        for row_id, meta in waiting:
            db.execute("UPDATE agent_activity SET agent = ?, session = ?, metadata = ? WHERE id = ?",
                       (data["agent"], data["session"], db.compact_json({**meta, "agent_span_id": settled_by}), row_id))
    if same_run is None:
        return data
    db.execute("UPDATE agent_activity SET timestamp = min(timestamp, ?), duration_ms = max(coalesce(duration_ms, 0), ?), "
               "session = ? WHERE id = ?", (start, data.get("duration_ms") or 0, data["session"], same_run[0]))
    return MERGED
