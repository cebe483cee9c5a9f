"""POST /v1/logs and /v1/traces in process: protobuf and JSON bodies, gzip, the record cap and the
JSON value guard, and each refusal as its HTTP status and OTLP error body."""
import gzip
import json
import tracemalloc
import zlib

import pytest
from google.protobuf import json_format
from google.rpc.status_pb2 import Status as RpcStatus
from opentelemetry.exporter.otlp.proto.common._log_encoder import encode_logs
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceResponse,
)

from tests.otlp_support import JSON, PROTOBUF, claude_code_logs
from tests.support import db_rows
from waken import db
from waken.auth.tokens import create_token

MIB = 1024 * 1024


def export(client, body, token=None, path="/v1/logs", media=PROTOBUF, **headers):
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return client.post(path, data=bytes(body), headers={"Content-Type": media, **headers} if media else headers)


def status_of(response):
    """(gRPC code, message) of a protobuf error answer."""
    status = RpcStatus.FromString(response.data)
    return status.code, status.message


def stored(app, agent):
    return db_rows(app, "SELECT count(*) FROM agent_activity WHERE agent = ?", (agent,))[0][0]


def tool_results(service):
    """Claude Code's two tool results and its API request, without the user prompt it does not map."""
    return [log for log in claude_code_logs(service) if "user_prompt" not in str(log.log_record.body)]


def test_protobuf_json_and_gzip_bodies_are_stored_and_answered_in_kind(app, client, token):
    protobuf = encode_logs(tool_results("as-protobuf")).SerializeToString()
    answer = export(client, protobuf, token)
    assert answer.status_code == 200 and answer.content_type == PROTOBUF
    assert not ExportLogsServiceResponse.FromString(answer.data).HasField("partial_success")

    body = json.dumps(json_format.MessageToDict(encode_logs(tool_results("as-json")))).encode()
    answer = export(client, body, token, media=JSON)
    assert answer.status_code == 200 and answer.content_type == JSON and answer.json == {}

    zipped = gzip.compress(encode_logs(tool_results("as-gzip")).SerializeToString())
    assert export(client, zipped, token, **{"Content-Encoding": "gzip"}).status_code == 200
    assert [stored(app, agent) for agent in ("as-protobuf", "as-json", "as-gzip")] == [3, 3, 3]


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
def test_another_content_type_is_415(client, token, content_type):
    answer = export(client, b"{}", token, media=content_type)
    assert answer.status_code == 415
    assert "application/x-protobuf or application/json" in answer.json["error"]


def test_unknown_content_encoding_is_415(client, token):
    answer = export(client, b"{}", token, media=JSON, **{"Content-Encoding": "br"})
    assert answer.status_code == 415 and "gzip" in answer.json["error"]
    assert answer.json["code"] == 3 and answer.json["message"] == answer.json["error"]


@pytest.mark.parametrize("content_type, body, says", [
    (PROTOBUF, b"\x0a\xff\x01\x00", "not a valid OTLP protobuf"),
    (JSON, b"{not json", "not valid JSON"),
    (JSON, b"[1, 2]", "must be a JSON object"),
    (JSON, b"\xff\xfe{}", "not UTF-8"),
    (JSON, b'{"resourceSpans": [], "x": NaN}', "not a valid JSON number"),
    (JSON, json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": [
        {"traceId": "zz-not-hex", "spanId": "eee19b7ec3c1b174"}]}]}]}).encode(), "not hexadecimal"),
    (JSON, json.dumps({"resourceSpans": "nope"}).encode(), "not a valid OTLP/JSON"),
    (JSON, b'{"resourceSpans": null}', "resourceSpans is null"),
    (JSON, b'{"resourceSpans": ["AAA"]}', "must be a list of objects"),
    (JSON, b'{"resourceSpans": [{"scopeSpans": [{"scope": "AAA", "spans": []}]}]}', "scope in ScopeSpans must be an object"),
    (JSON, b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": null}]}]}]}', "traceId is null in Span"),
    (JSON, b"[" * 100_000 + b"]" * 100_000, "nested"),
    (JSON, json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": [
        {"attributes": [{"key": "k", "value": {"arrayValue": {"values": [{"arrayValue": {"values": []}}]}}}]}
    ]}]}]}).replace('{"arrayValue": {"values": []}}', '{"arrayValue": {"values": [' * 70 + "]}}" * 70)
        .encode(), "nested"),
])
def test_a_body_that_does_not_decode_is_400(client, token, content_type, body, says):
    answer = export(client, body, token, path="/v1/traces", media=content_type)
    assert answer.status_code == 400, answer.data[:300]
    if content_type == PROTOBUF:
        code, message = status_of(answer)
        assert code == 3 and says in message
    else:
        assert says in answer.json["error"] and answer.json["success"] is False


@pytest.mark.parametrize("body, says", [
    (gzip.compress(b'{"resourceLogs": []}')[:-6], "before its end marker"),
    (b"\x1f\x8b not gzip at all", "not valid gzip"),
    (gzip.compress(b'{"resourceLogs": []}') + b"trailing", "after the end of its gzip stream"),
], ids=["cut-short", "not-gzip", "trailing-data"])
def test_corrupt_gzip_is_400(client, token, body, says):
    answer = export(client, body, token, media=JSON, **{"Content-Encoding": "gzip"})
    assert answer.status_code == 400 and says in answer.json["error"]


def test_a_body_over_the_limit_is_413(client, token):
    answer = export(client, b"\0" * (4 * MIB + 1), token)
    assert answer.status_code == 413 and answer.content_type == PROTOBUF
    assert status_of(answer) == (8, "The body is larger than 4 MiB, the most this server accepts for OTLP; "
                                    "send smaller batches.")


def test_a_gzip_bomb_is_refused_after_inflating_no_more_than_the_cap(client, token):
    # 64 MiB of zeros deflate to 64 KiB; inflating stops at the 4 MiB cap. (The live test sends 1 GiB.)
    packer, zeros = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS), bytes(MIB)
    bomb = b"".join(packer.compress(zeros) for _ in range(64)) + packer.flush()
    assert len(bomb) < 70_000
    tracemalloc.start()
    try:
        answer = export(client, bomb, token, **{"Content-Encoding": "gzip"})
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert answer.status_code == 413
    assert "inflates to more than 4 MiB" in status_of(answer)[1]
    # The inflated bytes up to the cap and a growing buffer's copy: not the 64 MiB.
    assert peak < 16 * MIB, f"{peak / MIB:.1f} MiB allocated"


@pytest.mark.app_config(OTLP_MAX_RECORDS=3)
@pytest.mark.parametrize("media", [PROTOBUF, JSON])
def test_more_records_than_the_cap_are_413_before_any_is_stored(app, client, token, media):
    message = encode_logs(claude_code_logs("over-the-cap"))
    body = message.SerializeToString() if media == PROTOBUF else json.dumps(json_format.MessageToDict(message))
    answer = export(client, body.encode() if media == JSON else body, token, media=media)
    assert answer.status_code == 413
    text = status_of(answer)[1] if media == PROTOBUF else answer.json["error"]
    assert "4 log records" in text and "at most 3" in text and "OTEL_BLRP_MAX_EXPORT_BATCH_SIZE" in text
    assert stored(app, "over-the-cap") == 0


@pytest.mark.app_config(OTLP_MAX_RECORDS=3)
def test_the_json_value_guard_refuses_tiny_values_and_takes_a_full_batch(app, client, token):
    # 64 values a record: with a cap of 3 records, 192 commas at most.
    tiny = b'{"resourceLogs":[' + b"[]," * 200 + b"[]]}"
    answer = export(client, tiny, token, media=JSON)
    assert answer.status_code == 413 and "more than 192 values (it has 200 commas)" in answer.json["error"]
    full = json.dumps(json_format.MessageToDict(encode_logs(tool_results("json-full")))).encode()
    assert export(client, full, token, media=JSON).status_code == 200
    assert stored(app, "json-full") == 3


def test_no_token_is_401_in_the_client_s_format(client):
    answer = export(client, b"", media=JSON)
    assert answer.status_code == 401 and "Authorization: Bearer" in answer.json["error"]
    answer = export(client, b"\x0a\x02\x0a\x00", "not-a-token", path="/v1/traces")
    assert answer.status_code == 401 and answer.content_type == PROTOBUF
    assert status_of(answer) == (16, "Invalid API token.")


def test_a_report_only_token_is_403(app, client):
    with app.app_context(), db.write():
        _, reporter = create_token("reporter-only", ["report"])
    body = encode_logs(claude_code_logs("reporter")).SerializeToString()
    answer = export(client, body, reporter)
    assert answer.status_code == 403 and status_of(answer)[0] == 7 and "agents:write" in status_of(answer)[1]
    answer = export(client, b"{}", reporter, path="/v1/traces", media=JSON)
    assert answer.status_code == 403 and "agents:write" in answer.json["error"]
    assert stored(app, "reporter") == 0
