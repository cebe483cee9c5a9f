"""Schemas of agent sessions: the list's and one session's query parameters, and their answers."""
from marshmallow import (
    RAISE,
    Schema,
    ValidationError,
    fields,
    post_load,
    validates_schema,
)
from marshmallow.validate import Range

from waken.agent_log.filters import STATUSES
from waken.schemas.agent_log import PARTIAL, AgentRecordSchema
from waken.schemas.agent_log_queries import AgentLogQuerySchema
from waken.schemas.fields import NON_NEGATIVE, SQL_INT_MAX, WHOLE, IsoTime, always_sent

DEFAULT_SESSIONS = 20
MAX_SESSIONS = 100
DEFAULT_RECORDS = 200
MAX_RECORDS = 1000


class AgentSessionsQuerySchema(AgentLogQuerySchema):
    """GET /api/agent-sessions: the list's filters and paging, newest first, JSON only."""

    class Meta(AgentLogQuerySchema.Meta):
        exclude = ("format", "sort", "session")

    limit = fields.Integer(error_messages=WHOLE, metadata={
        "minimum": 1, "maximum": MAX_SESSIONS,
        "description": f"Sessions to return, from 1 to {MAX_SESSIONS} (default {DEFAULT_SESSIONS})."})

    @validates_schema
    def _limits(self, data, **_):
        limit = data.get("limit")
        if limit is not None and not 1 <= limit <= MAX_SESSIONS:
            raise ValidationError(f"must be from 1 to {MAX_SESSIONS}", "limit")

    @post_load
    def _default_limit(self, data, **_):
        return {**data, "limit": data.get("limit") or DEFAULT_SESSIONS}


class AgentSessionQuerySchema(Schema):
    """GET /api/agent-sessions/<key>: a page of the session's records."""

    error_messages = {"unknown": "is not a known parameter"}

    class Meta:
        unknown = RAISE

    limit = fields.Integer(load_default=DEFAULT_RECORDS, error_messages=WHOLE,
                           validate=Range(min=1, max=MAX_RECORDS, error=f"must be from 1 to {MAX_RECORDS}"),
                           metadata={"description": f"Records to return (default {DEFAULT_RECORDS})."})
    offset = fields.Integer(load_default=0, error_messages=WHOLE,
                            validate=[NON_NEGATIVE, Range(max=SQL_INT_MAX, error="is too large")],
                            metadata={"description": "Records to skip (default 0)."})


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
class AgentSessionListSchema(Schema):
    """One page of sessions, newest (latest record) first."""

    sessions = fields.List(fields.Nested(AgentSessionSchema))
    total = fields.Integer(metadata={"description": "Sessions matching the filters, across all pages."})
    limit = fields.Integer()
    offset = fields.Integer()
    hasMore = fields.Boolean()
    partial = fields.Boolean(metadata={"description": PARTIAL})


@always_sent()
class AgentSessionDetailSchema(Schema):
    """A session's summary and one page of its records, in time order."""

    session = fields.Nested(AgentSessionSchema)
    activities = fields.List(fields.Nested(AgentRecordSchema))
    total = fields.Integer(metadata={"description": "The session's records, across all pages."})
    limit = fields.Integer()
    offset = fields.Integer()
    hasMore = fields.Boolean()


sessions_query_schema = AgentSessionsQuerySchema()
session_query_schema = AgentSessionQuerySchema()
session_list_schema = AgentSessionListSchema()
session_detail_schema = AgentSessionDetailSchema()
