"""GET /api/agent-sessions and /api/agent-sessions/<key>: agent sessions (token or admin session)."""
from waken import agent_sessions
from waken.query import bp
from waken.query.agent_log import query_args
from waken.schemas.agent_sessions import (
    session_detail_schema,
    session_list_schema,
    session_query_schema,
    sessions_query_schema,
)
from waken.timeutil import now
from waken.tokens import require_reader


@bp.get("/api/agent-sessions")
def list_agent_sessions():
    """Sessions newest first, with their start, end, agents, models, counts, tokens and cost."""
    require_reader()
    return session_list_schema.dump(agent_sessions.list_sessions(query_args(sessions_query_schema), now()))


@bp.get("/api/agent-sessions/<path:key>")
def get_agent_session(key):
    """A session's summary and its records in time order, a page at a time."""
    require_reader()
    args = query_args(session_query_schema, lists=())
    return session_detail_schema.dump(agent_sessions.get_session(key, args, now()))
