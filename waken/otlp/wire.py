"""OTLP/HTTP bodies: content types, bounded gzip, protobuf and JSON decoding, the answers."""
import base64
import json
import zlib

from google.protobuf import json_format
from google.protobuf.message import DecodeError
from google.rpc import status_pb2
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from waken.errors import DomainError
from waken.otlp import shapes

PROTOBUF = "application/x-protobuf"
JSON = "application/json"
MEDIA = (PROTOBUF, JSON)
READ_CHUNK = 64 * 1024
SIGNALS = {
    "logs": (ExportLogsServiceRequest, ExportLogsServiceResponse, "rejected_log_records"),
    "traces": (ExportTraceServiceRequest, ExportTraceServiceResponse, "rejected_spans"),
    "metrics": (ExportMetricsServiceRequest, ExportMetricsServiceResponse, "rejected_data_points"),
}
NOUNS = {"logs": "log records", "traces": "spans", "metrics": "data points"}
# OTLP/JSON writes these ids as hex, where protobuf's JSON mapping expects base64.
HEX_IDS = ("traceId", "spanId", "parentSpanId", "trace_id", "span_id", "parent_span_id")
INFLATE_STEP = 256 * 1024
MAX_NESTING = 64   # AnyValue lists and maps nest; real exporters stay far below this
# OTLP/JSON values (commas) a body may hold per record it may carry: a Claude Code log record
# has about 35, so a full batch fits with room, and 4 MiB of tiny values does not.
JSON_VALUES_PER_RECORD = 64
# Where the records are in OTLP/JSON; protobuf's JSON parser takes both spellings of a field.
JSON_PATHS = {
    "logs": (("resourceLogs", "resource_logs"), ("scopeLogs", "scope_logs"), ("logRecords", "log_records")),
    "traces": (("resourceSpans", "resource_spans"), ("scopeSpans", "scope_spans"), ("spans",)),
    "metrics": (("resourceMetrics", "resource_metrics"), ("scopeMetrics", "scope_metrics"), ("metrics",)),
}
# A metric holds its data points one level down, under its kind.
METRIC_KINDS = ("gauge", "sum", "histogram", "exponentialHistogram", "exponential_histogram", "summary")
# gRPC status codes for the Status message an OTLP error answer carries.
GRPC_CODES = {400: 3, 401: 16, 403: 7, 404: 5, 413: 8, 415: 3, 429: 8, 500: 13, 503: 14}


class WireError(DomainError):
    """A body that cannot be taken: an HTTP status and a sentence."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


def answer_media(mimetype):
    """The media type to answer in: the request's when it is OTLP's, else JSON."""
    return mimetype if mimetype in MEDIA else JSON


def encoding_of(request):
    """The body's Content-Encoding ('' or gzip); a 415 WireError for another media type or encoding."""
    if request.mimetype not in MEDIA:
        raise WireError(415, f"Send OTLP as application/x-protobuf or application/json, "
                             f"not '{request.mimetype[:80] or 'no Content-Type'}'.")
    encoding = request.headers.get("Content-Encoding", "").strip().lower()
    if encoding not in ("", "identity", "gzip"):
        raise WireError(415, f"Content-Encoding '{encoding[:40]}' is not supported; send gzip or none.")
    return encoding


def read(signal, request, encoding, limit, max_records):
    """(the Export…ServiceRequest, its record count) from the request body; a WireError if it is
    unreadable, over `limit` bytes (before or after gunzip) or over the record cap."""
    raw = _body(request, limit)
    if encoding == "gzip":
        raw = gunzip(raw, limit)
    return decode(signal, request.mimetype, raw, max_records)


def _body(request, limit):
    """The request body, read in chunks and never past `limit` bytes (413 beyond)."""
    too_big = WireError(413, f"The body is larger than {limit // 1024 // 1024} MiB, the most this "
                             "server accepts for OTLP; send smaller batches.")
    if request.content_length is not None and request.content_length > limit:
        raise too_big
    body = bytearray()
    while chunk := request.stream.read(min(READ_CHUNK, limit + 1 - len(body))):
        body += chunk
        if len(body) > limit:
            raise too_big
    return body


def gunzip(data, limit):
    """The gzip stream inflated (a bytearray), never to more than `limit` bytes (413 past it, 400 if corrupt)."""
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    out = bytearray()
    try:
        while not inflater.eof:
            # Small bounded steps: a bomb costs about `limit` bytes of memory, never more.
            chunk = inflater.decompress(data, min(INFLATE_STEP, limit + 1 - len(out)))
            out += chunk
            if len(out) > limit:
                raise WireError(413, f"The gzip body inflates to more than {limit // 1024 // 1024} MiB, "
                                     "the most this server accepts; send smaller batches.")
            data = inflater.unconsumed_tail
            if not chunk:
                break   # all input read: either the end marker was seen, or the stream is cut short
    except zlib.error as err:
        raise WireError(400, f"The body is not valid gzip ({err}).") from None
    if not inflater.eof:
        raise WireError(400, "The gzip body ends before its end marker.")
    if inflater.unused_data:
        raise WireError(400, "The body has data after the end of its gzip stream.")
    return out


def decode(signal, media, raw, max_records):
    """(the Export…ServiceRequest in `raw`, its record count); a 400 WireError if the body does not
    decode, 413 if it holds more than `max_records` records (counted before any is mapped)."""
    message = SIGNALS[signal][0]()
    if media == PROTOBUF:
        try:
            message.ParseFromString(raw)
        except (DecodeError, RecursionError) as err:
            raise WireError(400, f"The body is not a valid OTLP protobuf {type(message).__name__} "
                                 f"({err}).") from None
    else:
        data = _json(raw, max_records * JSON_VALUES_PER_RECORD)
        _check_count(signal, _json_count(signal, data), max_records)
        try:
            shapes.check(data, message.DESCRIPTOR, MAX_NESTING)
            _hex_ids_to_base64(data)
            json_format.ParseDict(data, message, ignore_unknown_fields=True, max_recursion_depth=MAX_NESTING)
        except (json_format.ParseError, RecursionError, ValueError, TypeError) as err:
            raise WireError(400, f"The body is not a valid OTLP/JSON {type(message).__name__} "
                                 f"({str(err)[:300]}).") from None
    count = _count(signal, message)
    _check_count(signal, count, max_records)
    return message, count


def _json(raw, most_values):
    """The JSON object in `raw`, its values counted first: JSON builds ~50-200 bytes of Python
    objects per value, so 4 MiB of `[],[],...` would take hundreds of MB (as in payload.py)."""
    values = raw.count(b",")   # without commas, containers can only nest, which MAX_NESTING stops
    if values > most_values:
        raise WireError(413, f"The OTLP/JSON body holds more than {most_values:,} values (it has {values:,} "
                             "commas); send smaller batches.")
    try:
        data = json.loads(raw.decode("utf-8-sig"), parse_constant=_no_constants)
    except UnicodeDecodeError:
        raise WireError(400, "The body is not UTF-8 text.") from None
    except RecursionError:
        raise WireError(400, "The JSON body is nested too deeply.") from None
    except ValueError as err:
        raise WireError(400, f"The body is not valid JSON ({err}).") from None
    if not isinstance(data, dict):
        raise WireError(400, "The body must be a JSON object.")
    return data


def _check_count(signal, count, max_records):
    if count > max_records:
        noun = NOUNS[signal]
        raise WireError(413, f"The export holds {count:,} {noun}; this server takes at most {max_records:,} "
                             "in one request. Send smaller batches (the SDKs' batch processors send 512 "
                             "by default; see OTEL_BLRP_MAX_EXPORT_BATCH_SIZE and OTEL_BSP_MAX_EXPORT_BATCH_SIZE).")


def _count(signal, message):
    if signal == "metrics":
        return sum(len(getattr(metric, kind).data_points) for part in message.resource_metrics
                   for scope in part.scope_metrics for metric in scope.metrics if (kind := metric.WhichOneof("data")))
    if signal == "logs":
        return sum(len(scope.log_records) for part in message.resource_logs for scope in part.scope_logs)
    return sum(len(scope.spans) for part in message.resource_spans for scope in part.scope_spans)


def _json_count(signal, data):
    """The records OTLP/JSON holds, before it becomes protobuf (under either spelling of each field)."""
    outer, middle, inner = JSON_PATHS[signal]
    if signal == "metrics":
        return sum(len(points) for part in _items(data, outer) for scope in _items(part, middle)
                   for metric in _items(scope, inner) for kind in _items_of(metric, METRIC_KINDS)
                   for points in _lists(kind, ("dataPoints", "data_points")))
    return sum(len(records) for part in _items(data, outer) for scope in _items(part, middle)
               for records in _lists(scope, inner))


def _items_of(node, names):
    return [node[name] for name in names if isinstance(node.get(name), dict)]


def _items(node, names):
    return [item for items in _lists(node, names) for item in items if isinstance(item, dict)]


def _lists(node, names):
    return [node[name] for name in names if isinstance(node, dict) and isinstance(node.get(name), list)]


def _no_constants(name):
    raise ValueError(f"{name} is not a valid JSON number")


def _hex_ids_to_base64(data):
    """Rewrite OTLP/JSON's hex trace and span ids in place (checked without recursion)."""
    stack, depth = [(data, 0)], 0
    while stack:
        node, depth = stack.pop()
        if depth > MAX_NESTING:
            raise ValueError(f"nested more than {MAX_NESTING} levels deep")
        if isinstance(node, list):
            stack.extend((child, depth + 1) for child in node)
            continue
        if not isinstance(node, dict):
            continue
        for key, value in node.items():
            if key in HEX_IDS and isinstance(value, str):
                try:
                    node[key] = base64.b64encode(bytes.fromhex(value)).decode()
                except ValueError:
                    raise ValueError(f"{key} '{value[:40]}' is not hexadecimal") from None
            elif isinstance(value, (dict, list)):
                stack.append((value, depth + 1))


def answer(signal, media, rejected, error_message):
    """The Export…ServiceResponse as bytes in `media`; partial_success only when something was rejected."""
    _request, response_class, field = SIGNALS[signal]
    response = response_class()
    if rejected or error_message:
        setattr(response.partial_success, field, rejected)
        response.partial_success.error_message = error_message
    if media == PROTOBUF:
        return response.SerializeToString()
    return json.dumps(json_format.MessageToDict(response)).encode()


def status_body(status, message, media):
    """An error answer: a google.rpc.Status for protobuf clients, JSON (waken's and Status's keys) otherwise."""
    code = GRPC_CODES.get(status, 2)
    if media == PROTOBUF:
        return status_pb2.Status(code=code, message=message).SerializeToString()
    return json.dumps({"success": False, "error": message, "code": code, "message": message}).encode()

