"""GET /api/agent-sessions and /api/agent-sessions/<key>: agent sessions (token or admin session)."""
from waken.agent_log import sessions as agent_sessions
from waken.auth.tokens import require_reader
from waken.openapi.operations import READER, answer, documented, errors
from waken.query import bp
from waken.query.agent_log import query_args
from waken.schemas.agent_sessions import (
    AgentSessionDetailSchema,
    AgentSessionListSchema,
    AgentSessionQuerySchema,
    AgentSessionsQuerySchema,
    session_detail_schema,
    session_list_schema,
    session_query_schema,
    sessions_query_schema,
)
from waken.timeutil import now


@documented({
    "tags": ["Agent activity log"], "summary": "Agent sessions, newest first",
    "description": "One item per session (the records' `session` field) with a record in the date "
                   "range, ordered by its latest record. type, status, agent and q list the sessions "
                   "that have a matching record; each summary covers all the session's records "
                   "within the retention window.",
    "security": READER,
    "parameters": [{"in": "query", "schema": AgentSessionsQuerySchema}],
    "responses": {"200": answer(AgentSessionListSchema, "One page of sessions."),
                  **errors(400, 401, 403)}})
@bp.get("/api/agent-sessions")
def list_agent_sessions():
    """Sessions newest first, with their start, end, agents, models, counts, tokens and cost."""
    require_reader()
    return session_list_schema.dump(agent_sessions.list_sessions(query_args(sessions_query_schema), now()))


@documented({
    "tags": ["Agent activity log"], "summary": "One agent session and its records in order",
    "security": READER,
    "parameters": [{"in": "query", "schema": AgentSessionQuerySchema}],
    "responses": {"200": answer(AgentSessionDetailSchema, "The summary and a page of records."),
                  **errors(400, 401, 403, 404)}})
@bp.get("/api/agent-sessions/<path:key>")
def get_agent_session(key):
    """A session's summary and its records in time order, a page at a time."""
    require_reader()
    args = query_args(session_query_schema, lists=())
    return session_detail_schema.dump(agent_sessions.get_session(key, args, now()))
