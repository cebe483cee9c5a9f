"""The OpenAPI description of POST /v1/logs, /v1/traces and /v1/metrics (plain dicts: no protobuf is loaded)."""
from marshmallow import Schema, fields

REF = "#/components/schemas/"
# A uint64 (the string pattern stops a little short of 2**64 - 1, where a regex would be long).
NANOS = {"type": ["string", "integer"], "pattern": "^([0-9]{1,19}|1[0-7][0-9]{18})$", "minimum": 0,
         "maximum": 2**64 - 1,
         "description": "Unix nanoseconds: an int64 as a string (a JSON number is read too)."}
TRACE_ID = {"type": "string", "pattern": "^([0-9a-f]{32})?$", "description": "16 bytes as hex."}
ENUM = "An OTLP enum, as its number (its protobuf name, e.g. SPAN_KIND_SERVER, is read too)."
SPAN_ID = {"type": "string", "pattern": "^([0-9a-f]{16})?$", "description": "8 bytes as hex."}


def _object(properties):
    # Other keys are read as OTLP defines them, or ignored when OTLP does not define them.
    return {"type": "object", "properties": properties}


def _list(name):
    return {"type": "array", "items": {"$ref": REF + name}}


ANY_VALUE_KINDS = {
    "stringValue": {"type": "string"}, "boolValue": {"type": "boolean"},
    "intValue": {"type": ["string", "integer"], "pattern": "^-?([0-9]{1,18}|[1-8][0-9]{18})$",
                 "minimum": -(2**63), "maximum": 2**63 - 1},
    "doubleValue": {"type": ["number", "null"],
                    "description": "null (how JSON writers send NaN and infinities) is no value."},
    "arrayValue": _object({"values": _list("OtlpAnyValue")}),
    "kvlistValue": _object({"values": _list("OtlpKeyValue")}),
}
# OTLP/JSON as the OpenTelemetry specification defines it, the parts waken reads. Other keys
# are allowed: OTLP's other fields are read as it defines them (null is 400), unknown ones ignored.
SCHEMAS = {
    "OtlpAnyValue": {**_object(ANY_VALUE_KINDS), "not": {"anyOf": [
        {"required": [one, other]} for n, one in enumerate(ANY_VALUE_KINDS) for other in list(ANY_VALUE_KINDS)[n + 1:]]},
        "description": "At most one of the value kinds (bytesValue is read too)."},
    # No key reads as the empty key (proto3 has no required fields); such an attribute matches nothing.
    "OtlpKeyValue": _object({"key": {"type": "string"}, "value": {"$ref": REF + "OtlpAnyValue"}}),
    "OtlpResource": _object({"attributes": _list("OtlpKeyValue")}),
    "OtlpScope": _object({"name": {"type": "string"}, "version": {"type": "string"}}),
    "OtlpLogRecord": _object({
        "timeUnixNano": NANOS, "observedTimeUnixNano": NANOS,
        "severityNumber": {"type": "integer", "minimum": 0, "maximum": 24, "description": ENUM}, "severityText": {"type": "string"},
        "eventName": {"type": "string"}, "body": {"$ref": REF + "OtlpAnyValue"},
        "attributes": _list("OtlpKeyValue"), "traceId": TRACE_ID, "spanId": SPAN_ID}),
    "OtlpSpan": _object({
        "traceId": TRACE_ID, "spanId": SPAN_ID, "parentSpanId": SPAN_ID, "name": {"type": "string"},
        "kind": {"type": "integer", "minimum": 0, "maximum": 5, "description": ENUM},
        "startTimeUnixNano": NANOS, "endTimeUnixNano": NANOS, "attributes": _list("OtlpKeyValue"),
        "status": _object({"code": {"type": "integer", "minimum": 0, "maximum": 2, "description": ENUM},
                           "message": {"type": "string"}})}),
    "OtlpNumberDataPoint": {**_object({
        "attributes": _list("OtlpKeyValue"), "startTimeUnixNano": NANOS, "timeUnixNano": NANOS,
        "asDouble": {"type": ["number", "null"], "minimum": -1e300, "maximum": 1e300,
                     "description": "null (how JSON writers send NaN and infinities) is no value."},
        "asInt": ANY_VALUE_KINDS["intValue"]}),
        # One value: protobuf refuses a point with both (a null asDouble is no value).
        "not": {"required": ["asDouble", "asInt"], "properties": {"asDouble": {"type": "number"}}}},
    "OtlpMetric": {**_object({
        "name": {"type": "string"}, "description": {"type": "string"}, "unit": {"type": "string"},
        "sum": _object({"dataPoints": _list("OtlpNumberDataPoint"),
                        "aggregationTemporality": {"type": "integer", "minimum": 0, "maximum": 2,
                                                   "description": "1 delta, 2 cumulative."},
                        "isMonotonic": {"type": "boolean"}})}),
        "description": "A metric; only the sums claude_code.cost.usage and claude_code.token.usage are "
                       "used (gauges, histograms and the other kinds are read and counted as rejected)."},
    "ExportMetricsServiceRequest": _object({"resourceMetrics": {"type": "array", "items": _object({
        "resource": {"$ref": REF + "OtlpResource"},
        "scopeMetrics": {"type": "array", "items": _object({
            "scope": {"$ref": REF + "OtlpScope"}, "metrics": _list("OtlpMetric")})}})}}),
    "ExportLogsServiceRequest": _object({"resourceLogs": {"type": "array", "items": _object({
        "resource": {"$ref": REF + "OtlpResource"},
        "scopeLogs": {"type": "array", "items": _object({
            "scope": {"$ref": REF + "OtlpScope"}, "logRecords": _list("OtlpLogRecord")})}})}}),
    "ExportTraceServiceRequest": _object({"resourceSpans": {"type": "array", "items": _object({
        "resource": {"$ref": REF + "OtlpResource"},
        "scopeSpans": {"type": "array", "items": _object({
            "scope": {"$ref": REF + "OtlpScope"}, "spans": _list("OtlpSpan")})}})}}),
}
SIGNALS = (
    ("logs", "ExportLogsServiceRequest", "rejectedLogRecords",
     "Claude Code's events `tool_result` (-> tool_call), `tool_decision` (-> permission), `api_request` "
     "and `api_error` (-> api_request) and `user_prompt` (-> prompt, its length only), named by the body, "
     "the event name or the `event.name` attribute. Each log record is stored once per hash of its content."),
    ("traces", "ExportTraceServiceRequest", "rejectedSpans",
     "Spans with `gen_ai.operation.name` `execute_tool` (-> tool_call) or `chat`, `generate_content`, "
     "`text_completion`, `invoke_agent`, `invoke_workflow`, `create_agent` (-> agent_action); a span takes "
     "the agent name of its agent run (`invoke_agent` ancestor). Each span is stored once per (trace id, "
     "span id); a run's second span of the same agent is part of its row."),
    ("metrics", "ExportMetricsServiceRequest", "rejectedDataPoints",
     "Claude Code's `claude_code.cost.usage` and `claude_code.token.usage` sums (delta or cumulative) "
     "become `usage` records that give a session its cost and tokens when its logs carry no "
     "`api_request`; a resend changes nothing. Each data point counts as one record."),
)
BINARY = {"type": "string", "format": "binary"}


class OtlpErrorSchema(Schema):
    """An OTLP failure as JSON: waken's error keys and a google.rpc.Status's code and message."""

    success = fields.Boolean(metadata={"enum": [False]})
    error = fields.String(metadata={"description": "What went wrong, as a sentence."})
    code = fields.Integer(metadata={"description": "The gRPC status code (3 invalid, 16 unauthenticated, ...)."})
    message = fields.String(metadata={"description": "The same sentence."})


def components(spec):
    """Add the OTLP request and error schemas to an APISpec."""
    spec.components.schema("OtlpError", schema=OtlpErrorSchema)
    for name, schema in SCHEMAS.items():
        spec.components.schema(name, component=schema)


def operations(security):
    """{(path, method): operation} for both endpoints."""
    error = {"application/json": {"schema": "OtlpError"},
             "application/x-protobuf": {"schema": {**BINARY, "description": "A google.rpc.Status."}}}
    table = {}
    for signal, request_schema, rejected, mapping in SIGNALS:
        answer = _object({"partialSuccess": _object({
            rejected: {"type": "string", "description": "Records not stored (an int64 as a string)."},
            "errorMessage": {"type": "string", "description": "Why, grouped by reason."}})})
        table[(f"/v1/{signal}", "post")] = {
            "tags": ["OpenTelemetry (OTLP/HTTP)"],
            "summary": f"Export OTLP {signal} into the agent activity log",
            "description": f"OTLP/HTTP as the OpenTelemetry specification defines it. {mapping} Anything "
                           "else is not stored and counted in `partialSuccess`. `Content-Encoding: gzip` "
                           "is accepted (4 MiB at most, inflated). One export holds at most 2,000 records "
                           "(OTLP_MAX_RECORDS), and each record counts as one write against the token's "
                           "rate limit. The answer is an "
                           f"{request_schema.replace('Request', 'Response')} in the request's media type.",
            "security": security,
            # application/x-protobuf (the same message, binary) is accepted as well; it is named in
            # the description only, because generated clients cannot yet offer two body types.
            "requestBody": {"required": True, "description": "OTLP/JSON here, or the protobuf encoding "
                            "of the same message with `Content-Type: application/x-protobuf`.",
                            "content": {"application/json": {"schema": {"$ref": REF + request_schema}}}},
            "responses": {
                "200": {"description": "Stored; `partialSuccess` counts what was not, and why.",
                        "content": {"application/json": {"schema": answer},
                                    "application/x-protobuf": {"schema": BINARY}}},
                **{str(code): {"description": text, "content": error} for code, text in (
                    (400, "The body does not decode as OTLP (protobuf or OTLP/JSON), or bad gzip."),
                    (401, "No `Authorization: Bearer` header (unless agent_ingest_open is on), or a bad token."),
                    (403, "The token lacks the agents:write scope."),
                    (413, "The body, or what its gzip inflates to, is over 4 MiB; or the export holds "
                          "more records than the server takes at once (2,000 by default), or an OTLP/JSON "
                          "body more values than such a batch could. Nothing is stored."),
                    (415, "Not application/x-protobuf or application/json, or a Content-Encoding "
                          "other than gzip."),
                    (429, "The records would go past the token's rate limit (rate_limit_per_minute, "
                          "one write per record); nothing is stored. Retry-After says when to send again."),
                    (503, "The server is busy with other OTLP exports; nothing was read. Retry-After "
                          "says when to send again."))}}}
    return table
