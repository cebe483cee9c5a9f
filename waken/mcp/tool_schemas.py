"""The tools' JSON Schemas, cut from the OpenAPI document, which the marshmallow schemas that check the calls generate."""
import copy

from waken.query.docs import openapi_document

LIST_ARGUMENTS = ("limit", "offset", "type", "status", "agent", "session", "startDate", "endDate")
# The document's date patterns allow days 01-28 only (a safe subset for its fuzzers); a client
# that checks arguments against them would refuse the 30th, so here dates keep only their
# format and description, and the server checks the calendar as it does for REST.
DATED = ("timestamp", "startDate", "endDate")
RECORD_ID = {"type": "integer", "minimum": 1, "description": "The record's id, as log_activity answered it."}


def schemas():
    """{tool name: (inputSchema, outputSchema)}, from this app's OpenAPI document."""
    doc = copy.deepcopy(openapi_document())
    parts = doc["components"]["schemas"]
    update = _undated(parts["ActivityUpdate"])
    update.pop("minProperties")       # id is always there: "at least one change" is the server's to say
    finish = {**update, "properties": {"id": RECORD_ID, **update["properties"]}, "required": ["id"]}
    listed = {p["name"]: {**p["schema"], "description": p["description"]}
              for p in doc["paths"]["/api/activities"]["get"]["parameters"] if p["name"] in LIST_ARGUMENTS}
    recent = _undated({"type": "object", "properties": {name: listed[name] for name in LIST_ARGUMENTS},
                       "additionalProperties": False})
    record = parts["Activity"]
    # A token that may not read gets only the id of what it wrote, as over REST.
    written = {**record, "required": ["id"]}
    logged = {**record, "properties": {**record["properties"], "duplicate": {
        "type": "boolean", "description": "True when idempotency_key matched an earlier record, which "
                                          "is answered instead of storing a second one."}},
              "required": ["id", "duplicate"]}
    page = {"type": "object", "additionalProperties": False, "required": ["activities", "total", "hasMore"],
            "properties": {"activities": {"type": "array", "items": record},
                           "total": {"type": "integer", "description": "Records matching the filters, on all pages."},
                           "hasMore": {"type": "boolean", "description": "Whether a later page (offset) has more."}}}
    return {"log_activity": (_undated(parts["ActivityCreate"]), logged),
            "finish_activity": (finish, written),
            "recent_activities": (recent, page)}


def _undated(schema):
    for name in DATED:
        schema["properties"].get(name, {}).pop("pattern", None)
    return schema
