"""Agents on the public page (public_agents = summary): each agent's state, since when, and its tool calls.

A summary is made of the agent's name, the type, status and time of its records, and a
count; never a description, metadata, session or cost. The state, from the latest record:
- waiting: its type is one of WAITING_TYPES (the agent asked the owner something);
- error:   its status is error;
- working: its status is running, or it is at most WORKING_SECONDS old;
- idle:    otherwise. An agent leaves the page SHOWN_MINUTES after its latest record.
"""
from datetime import timedelta

from waken import db
from waken.timeutil import from_ms, to_ms

WAITING_TYPES = ("notification", "permission_request", "permission", "waiting")
WORKING_SECONDS = 60
SHOWN_MINUTES = 60
WINDOW = timedelta(minutes=5)      # toolCalls5m
MOST_AGENTS = 12                   # cards on the page, most recent first
BUCKET_MS = 900_000                # agent_activity_rollup's bucket

# Which agents wrote lately, from the 15-minute rollup rather than the records (a burst
# is thousands of rows; the rollup has one per bucket, type, status and agent).
RECENT_AGENTS = """
    SELECT agent FROM agent_activity_rollup WHERE bucket >= ? AND agent <> ''
    GROUP BY agent ORDER BY max(bucket) DESC LIMIT ?"""
LATEST = """
    SELECT type, status, timestamp FROM agent_activity WHERE agent = ?
    ORDER BY timestamp DESC, id DESC LIMIT 1"""
TOOL_CALLS = """
    SELECT count(*) FROM agent_activity
    WHERE agent = ? AND timestamp > ? AND timestamp <= ? AND type = 'tool_call'"""
# The start of the latest run of records without a gap over WORKING_SECONDS, within WINDOW.
STREAK_START = """
    SELECT max(timestamp) FROM (
        SELECT timestamp, timestamp - lag(timestamp) OVER (ORDER BY timestamp) AS gap
        FROM agent_activity WHERE agent = ? AND timestamp > ? AND timestamp <= ?)
    WHERE gap IS NULL OR gap > ?"""


def agent_states(at):
    """[{agent, state, since, toolCalls5m}] at `at`, and the last instant the list is right (None: until
    a record changes it)."""
    at_ms, working_ms = to_ms(at), WORKING_SECONDS * 1000
    shown_after = at_ms - SHOWN_MINUTES * 60_000
    window_start = at_ms - int(WINDOW.total_seconds() * 1000)
    agents, moments = [], []
    for (agent,) in db.query(RECENT_AGENTS, (shown_after - shown_after % BUCKET_MS, MOST_AGENTS)):
        latest = db.query_one(LATEST, (agent,))
        last = latest["timestamp"]
        if last <= shown_after:
            continue
        moments.append(last + SHOWN_MINUTES * 60_000)
        if latest["type"] in WAITING_TYPES:
            state, since = "waiting", last
        elif latest["status"] == "error":
            state, since = "error", last
        elif latest["status"] == "running" or at_ms - last <= working_ms:
            state = "working"
            since = db.value(STREAK_START, (agent, window_start, at_ms, working_ms)) or last
            if latest["status"] != "running":
                moments.append(last + working_ms + 1)
        else:
            state, since = "idle", last + working_ms
        calls = db.value(TOOL_CALLS, (agent, window_start, at_ms))
        if calls:
            # The count drops as calls leave the window; checked again a second later at the
            # soonest, so a burst's tail re-renders the page at most once a second.
            oldest = db.value("SELECT min(timestamp) FROM agent_activity WHERE agent = ? AND timestamp > ? "
                              "AND timestamp <= ? AND type = 'tool_call'", (agent, window_start, at_ms))
            moments.append(max(oldest + int(WINDOW.total_seconds() * 1000), at_ms + 1000))
        agents.append({"agent": agent, "state": state, "since": from_ms(since), "toolCalls5m": calls})
    # The last instant the list is right: just before the first moment it changes.
    until = from_ms(min(moments)) - timedelta(microseconds=1) if moments else None
    return agents, until
