"""Schemas of the agent log's query parameters: the list and its CSV export, the stats, the stream."""
from marshmallow import RAISE, Schema, ValidationError, fields, pre_load
from marshmallow.validate import Length

from waken.agent_log.filters import STATUSES
from waken.agent_log.search import MAX_MATCHES, MAX_QUERY_CHARS, SCAN_RECORDS
from waken.schemas.fields import (
    DATE_OR_TIME_PATTERN,
    NON_NEGATIVE,
    WHOLE,
    Choice,
    DateOrTime,
    Text,
    WordList,
    page_limit,
    page_offset,
)

SORTS = ("newest", "oldest")
DEFAULT_LIMIT = 50
MAX_JSON_LIMIT = 500
MAX_CSV_LIMIT = 10_000
# Comma lists as the document describes them: the first word not blank, each at most 64 characters.
# (Spaces are spelled out: ECMAScript's \s and Python's str.strip() disagree on a few.)
_SPACE = r"[ \t\n\r\f\v]"
WORDS = rf"^{_SPACE}*[^,\s\x1c-\x1f\x85][^,]{{0,63}}(,[^,]{{0,64}})*$"
_STATUS = "(" + "|".join(STATUSES) + ")"
STATUS_WORDS = rf"^{_SPACE}*{_STATUS}{_SPACE}*(,{_SPACE}*{_STATUS}{_SPACE}*)*$"



# Not blank, and no NUL anywhere (what _no_nul checks), as the API reference states it.
NO_NUL_NOT_BLANK = r"^[^\x00]*[^\s\x00\x1c-\x1f\x85][^\x00]*$"


def _no_nul(text):
    # SQLite's FTS5 reads a query as C text, which a NUL would end.
    if "\0" in text:
        raise ValidationError("must not contain the NUL character")


class AgentLogFiltersSchema(Schema):
    """Filters shared by the list and the stats."""

    error_messages = {"unknown": "is not a known parameter"}

    class Meta:
        unknown = RAISE

    type = WordList(metadata={"type": "string", "pattern": WORDS, "description":
                              "Only these types (a comma list; each type at most 64 characters)."})
    agent = Text(non_empty=True, validate=Length(max=64, error="must be at most 64 characters"),
                 metadata={"description": "Only this agent."})


class AgentLogQuerySchema(AgentLogFiltersSchema):
    """GET /api/activities (JSON). Unknown parameters and invalid values are 400, never ignored."""

    limit = page_limit(MAX_JSON_LIMIT, DEFAULT_LIMIT)
    offset = page_offset()
    sort = Choice(SORTS, load_default="newest", metadata={"description": "newest (default) or oldest first."})
    status = WordList(choices=STATUSES, metadata={
        "type": "string", "pattern": STATUS_WORDS,
        "description": "Only these statuses (a comma list of success, error, pending, running)."})
    startDate = DateOrTime(metadata={
        "type": "string", "pattern": DATE_OR_TIME_PATTERN,
        "description": "From this date-time, or from the start of this date in the configured time "
                       "zone. Not after endDate (400 otherwise)."})
    endDate = DateOrTime(metadata={
        "type": "string", "pattern": DATE_OR_TIME_PATTERN,
        "description": "Up to this date-time, or through the whole of this date in the configured "
                       "time zone. Not before startDate (400 otherwise)."})
    session = Text(non_empty=True, validate=Length(max=128, error="must be at most 128 characters"),
                   metadata={"description": "Only the records of this session."})
    q = Text(non_empty=True, validate=[Length(max=MAX_QUERY_CHARS, error=f"must be at most {MAX_QUERY_CHARS} characters"),
                                       _no_nul],
             metadata={"pattern": NO_NUL_NOT_BLANK, "description":
                       "Only records whose description or metadata tool, tool_name, command, path or file_path "
                       "contains this text (case-insensitive, any language; quotes and operators are plain "
                       f"text). A search collects at most the {MAX_MATCHES} most recently stored matches and "
                       "stops after a few milliseconds of database work; a text of one or two characters is "
                       f"looked for in the {SCAN_RECORDS} most recently stored records only. The JSON "
                       "answer's `partial` is true when one of these bounds cut the search short."})
    format = Choice(("json",), load_default="json", metadata={
        "description": "json, the format of this list. The CSV download is GET /api/activities/export, with "
                       "the same filters; format=csv here answers that same download (kept for clients of "
                       "the original API)."})


class AgentLogExportQuerySchema(AgentLogQuerySchema):
    """GET /api/activities/export: the list's filters, always CSV, up to 10 000 rows."""

    class Meta(AgentLogQuerySchema.Meta):
        exclude = ("format",)

    limit = page_limit(MAX_CSV_LIMIT, MAX_CSV_LIMIT)


class AgentStatsQuerySchema(AgentLogFiltersSchema):
    """GET /api/activities/stats: optional agent and type filters."""


class AgentStreamQuerySchema(Schema):
    """GET /api/activities/stream."""

    error_messages = {"unknown": "is not a known parameter"}

    class Meta:
        unknown = RAISE

    lastEventId = fields.Integer(validate=NON_NEGATIVE, error_messages=WHOLE, metadata={
        "description": "Replay rows after this id (the Last-Event-ID header does the same)."})
    session = Text(non_empty=True, validate=Length(max=128, error="must be at most 128 characters"),
                   metadata={"description": "Only the records of this session."})

    @pre_load
    def _blank(self, data, **_):
        return {k: v for k, v in data.items() if v != ""}


log_query_schema = AgentLogQuerySchema()
export_query_schema = AgentLogExportQuerySchema()
stats_query_schema = AgentStatsQuerySchema()
stream_query_schema = AgentStreamQuerySchema()
