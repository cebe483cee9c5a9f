"""Schemas of agent sessions: the list's and one session's query parameters, and their answers."""
from marshmallow import RAISE, Schema, fields

from waken.agent_log.filters import STATUSES
from waken.schemas.agent_log import AgentRecordSchema, PageSchema, SearchPageSchema
from waken.schemas.agent_log_queries import AgentLogQuerySchema
from waken.schemas.fields import IsoTime, always_sent, page_limit, page_offset

DEFAULT_SESSIONS = 20
MAX_SESSIONS = 100
DEFAULT_RECORDS = 200
MAX_RECORDS = 1000


class AgentSessionsQuerySchema(AgentLogQuerySchema):
    """GET /api/agent-sessions: the list's filters and paging, newest first, JSON only."""

    class Meta(AgentLogQuerySchema.Meta):
        exclude = ("format", "sort", "session")

    limit = page_limit(MAX_SESSIONS, DEFAULT_SESSIONS, "Sessions")


class AgentSessionQuerySchema(Schema):
    """GET /api/agent-sessions/<key>: a page of the session's records."""

    error_messages = {"unknown": "is not a known parameter"}

    class Meta:
        unknown = RAISE

    limit = page_limit(MAX_RECORDS, DEFAULT_RECORDS, "Records")
    offset = page_offset("Records")


@always_sent()
class SessionStatusSchema(Schema):
    success = fields.Integer()
    error = fields.Integer()
    pending = fields.Integer()
    running = fields.Integer()


@always_sent()
class AgentSessionSchema(Schema):
    """One session's summary: all its records within the retention window."""

    key = fields.String(metadata={"description": "The session's key (its records' session field)."})
    start = IsoTime(metadata={"type": "string", "format": "date-time", "description": "Its first record's timestamp."})
    end = IsoTime(metadata={"type": "string", "format": "date-time", "description": "Its last record's timestamp."})
    durationMs = fields.Integer(metadata={"description": "end - start, in milliseconds."})
    agents = fields.List(fields.String(), metadata={"description": "The agents its records name, most records first."})
    models = fields.List(fields.String(), metadata={"description": "The models its records name (metadata.model)."})
    records = fields.Integer()
    byStatus = fields.Nested(SessionStatusSchema, metadata={"description": f"Records per status ({', '.join(STATUSES)})."})
    tokensUsed = fields.Integer()
    costUsd = fields.Float(metadata={"description": "Sum of its records' cost_usd, exact to the micro-dollar."})


@always_sent("partial")
class AgentSessionListSchema(SearchPageSchema):
    """One page of sessions, newest (latest record) first; total counts the sessions matching."""

    sessions = fields.List(fields.Nested(AgentSessionSchema))


@always_sent()
class AgentSessionDetailSchema(PageSchema):
    """A session's summary and one page of its records, in time order; total counts its records."""

    session = fields.Nested(AgentSessionSchema)
    activities = fields.List(fields.Nested(AgentRecordSchema))


sessions_query_schema = AgentSessionsQuerySchema()
session_query_schema = AgentSessionQuerySchema()
session_list_schema = AgentSessionListSchema()
session_detail_schema = AgentSessionDetailSchema()
