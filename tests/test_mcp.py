"""/mcp: JSON-RPC over Streamable HTTP in process, then the official mcp SDK client against gunicorn."""
import json

import anyio
import httpx2
import jsonschema
import pytest
import requests
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from tests.cost_support import Cost
from tests.stream_support import SseReader
from tests.support import db_rows, record, set_setting
from waken import db
from waken.auth.tokens import create_token
from waken.schemas.agent_log import record_create_schema, record_update_schema

ACCEPT = "application/json, text/event-stream"
WORKER_PEAK_MAX_MB = 85        # the memory budget of a worker after a run (docs/operations.md)


def rpc(method, params=None, id=1):
    message = {"jsonrpc": "2.0", "method": method, "id": id}
    if params is not None:
        message["params"] = params
    return message


@pytest.fixture
def mcp(client, auth):
    """post(body, headers=…) to /mcp with the token and the headers the spec asks for; returns the response."""
    def post(body, **headers):
        data = body if isinstance(body, bytes) else json.dumps(body)
        merged = {**auth, "Accept": ACCEPT, "Content-Type": "application/json", **headers}
        return client.post("/mcp", data=data, headers={k: v for k, v in merged.items() if v is not None})
    return post


def call(mcp, name, arguments, **headers):
    response = mcp(rpc("tools/call", {"name": name, "arguments": arguments}), **headers)
    assert response.status_code == 200, response.json
    return response.json


def stored(app):
    return db_rows(app, "SELECT COUNT(*) FROM agent_activity")[0][0]


@pytest.mark.parametrize("asked, answered", [("2025-03-26", "2025-03-26"), ("2025-06-18", "2025-06-18"),
                                             ("2025-11-25", "2025-11-25"), ("2024-11-05", "2025-11-25"),
                                             ("2099-01-01", "2025-11-25")])
def test_initialize_answers_the_clients_version_or_the_latest(mcp, asked, answered):
    response = mcp(rpc("initialize", {"protocolVersion": asked, "capabilities": {},
                                      "clientInfo": {"name": "t", "version": "1"}}))
    assert response.status_code == 200 and response.mimetype == "application/json"
    result = response.json["result"]
    assert result["protocolVersion"] == answered
    assert result["capabilities"] == {"tools": {"listChanged": False}}
    assert result["serverInfo"]["name"] == "waken" and "Mcp-Session-Id" not in response.headers


def test_notifications_and_responses_get_202_without_a_body(mcp):
    for message in ({"jsonrpc": "2.0", "method": "notifications/initialized"},
                    {"jsonrpc": "2.0", "id": 7, "result": {}}):
        response = mcp(message, **{"MCP-Protocol-Version": "2025-06-18"})
        assert response.status_code == 202 and response.data == b""


def test_ping(mcp):
    assert mcp(rpc("ping", id="a")).json == {"jsonrpc": "2.0", "id": "a", "result": {}}


@pytest.mark.parametrize("body, status, code", [
    (b"{not json", 400, -32700),
    (b"", 400, -32700),
    (b'{"jsonrpc": "2.0", "id": 1, "method": "x", "params": "\\ud800"}', 400, -32700),
    (json.dumps({"id": 1, "method": "ping"}).encode(), 400, -32600),               # no jsonrpc
    (json.dumps({"jsonrpc": "2.0", "id": True, "method": "ping"}).encode(), 400, -32600),
    (json.dumps({"jsonrpc": "2.0", "id": 1, "method": 5}).encode(), 400, -32600),
    (json.dumps(rpc("resources/list")).encode(), 200, -32601),
    (json.dumps(rpc("server/discover")).encode(), 200, -32601),
    (json.dumps(rpc("tools/call", [1])).encode(), 200, -32602),                  # params not an object
    (json.dumps(rpc("tools/call", {})).encode(), 200, -32602),                   # no name
    (json.dumps(rpc("tools/call", {"name": "rm_rf"})).encode(), 200, -32602),    # unknown tool
    (json.dumps(rpc("tools/call", {"name": "log_activity", "arguments": [1]})).encode(), 200, -32602),
    (json.dumps(rpc("initialize", {"capabilities": {}})).encode(), 200, -32602),  # no protocolVersion
])
def test_jsonrpc_errors(app, mcp, body, status, code):
    response = mcp(body)
    assert response.status_code == status, response.json
    assert response.json["jsonrpc"] == "2.0" and response.json["error"]["code"] == code
    assert response.json["error"]["message"]
    assert stored(app) == 0


@pytest.mark.parametrize("headers, status", [
    ({"Accept": "text/html"}, 406),
    ({"Accept": None}, 406),
    ({"Content-Type": "text/plain"}, 415),
    ({"MCP-Protocol-Version": "1999-01-01"}, 400),
    ({"Origin": "https://evil.example"}, 403),
])
def test_header_checks(mcp, headers, status):
    response = mcp(rpc("ping"), **headers)
    assert response.status_code == status
    assert response.json["error"]["code"] == -32600 and response.json["id"] is None


def test_no_token_is_401_with_www_authenticate_and_the_body_is_never_read(client):
    for headers in ({}, {"Authorization": "Bearer nope"}):
        response = client.post("/mcp", data=b"{not json", headers={**headers, "Accept": ACCEPT,
                                                                   "Content-Type": "application/json"})
        assert response.status_code == 401                  # not a parse error: the token comes first
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert response.json["error"]["code"] == -32600


def test_an_oversized_body_is_413_before_it_is_read(app, mcp):
    limit = app.config["SMALL_BODY_MAX_BYTES"]
    arguments = record(metadata={"pad": "x" * limit})
    response = mcp(json.dumps(rpc("tools/call", {"name": "log_activity", "arguments": arguments})).encode())
    assert response.status_code == 413 and response.json["error"]["code"] == -32600
    assert stored(app) == 0


def test_get_and_delete_are_405(client, auth):
    for method in (client.get, client.delete):
        response = method("/mcp", headers={**auth, "Accept": "text/event-stream"})
        assert response.status_code == 405 and "POST" in response.headers["Allow"]


def test_batches_only_in_2025_03_26(app, mcp):
    batch = [rpc("ping", id=1), {"jsonrpc": "2.0", "method": "notifications/initialized"},
             rpc("tools/call", {"name": "log_activity", "arguments": record()}, id=2), rpc("nope", id=3)]
    answers = mcp(batch, **{"MCP-Protocol-Version": "2025-03-26"}).json
    assert [a["id"] for a in answers] == [1, 2, 3]
    assert answers[1]["result"]["structuredContent"]["id"] == 1 and answers[2]["error"]["code"] == -32601
    assert mcp(batch[1:2]).status_code == 202           # no header: 2025-03-26 is assumed
    for later in ("2025-06-18", "2025-11-25"):
        response = mcp(batch, **{"MCP-Protocol-Version": later})
        assert response.status_code == 400 and response.json["error"]["code"] == -32600
    assert mcp([]).status_code == 400
    assert mcp([rpc("ping", id=n) for n in range(21)]).status_code == 400
    assert stored(app) == 1


def test_tool_schemas_follow_the_marshmallow_schemas(mcp):
    tools = {t["name"]: t for t in mcp(rpc("tools/list")).json["result"]["tools"]}
    assert set(tools) == {"log_activity", "finish_activity", "recent_activities"}
    create = tools["log_activity"]["inputSchema"]
    assert set(create["properties"]) == set(record_create_schema.fields)
    assert set(create["required"]) == {"type", "description", "status"}
    finish = tools["finish_activity"]["inputSchema"]
    assert set(finish["properties"]) == {"id", *record_update_schema.fields} and finish["required"] == ["id"]
    assert set(tools["recent_activities"]["inputSchema"]["properties"]) == {
        "limit", "offset", "type", "status", "agent", "session", "startDate", "endDate"}
    for tool in tools.values():
        jsonschema.Draft202012Validator.check_schema(tool["inputSchema"])
        jsonschema.Draft202012Validator.check_schema(tool["outputSchema"])
    # A client that checks arguments against the schema must accept every real date.
    jsonschema.validate(record(timestamp="2026-03-31T23:59:59Z", metadata={"a": 1}), create)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(record(status="done"), create)


def test_tools_store_finish_and_read_through_the_rest_functions(app, client, auth, mcp, clock):
    logged = call(mcp, "log_activity", record(status="running", agent="main", idempotency_key="k1"))["result"]
    assert logged["isError"] is False
    activity = logged["structuredContent"]
    assert json.loads(logged["content"][0]["text"]) == activity and activity["duplicate"] is False
    again = call(mcp, "log_activity", record(status="running", idempotency_key="k1"))["result"]
    assert again["structuredContent"] == {**activity, "duplicate": True}
    rest = client.post("/api/activities", headers={**auth, "Idempotency-Key": "k1"}, json=record())
    assert rest.status_code == 200 and rest.json["id"] == activity["id"]       # one caller: the token

    finished = call(mcp, "finish_activity", {"id": activity["id"], "status": "success", "duration_ms": 1200,
                                             "metadata": {"exit": 0}})["result"]["structuredContent"]
    assert finished["status"] == "success" and finished["duration_ms"] == 1200
    assert client.get(f"/api/activities/{activity['id']}", headers=auth).json == finished

    page = call(mcp, "recent_activities", {"agent": "main", "status": "success"})["result"]["structuredContent"]
    assert page == {"activities": [finished], "total": 1, "hasMore": False}
    assert stored(app) == 1


@pytest.mark.parametrize("name, arguments, words", [
    ("log_activity", {"type": "tool_call"}, ["description is required", "status is required"]),
    ("log_activity", record(timestamp="2099-01-01T00:00:00Z"), ["in the future"]),
    ("log_activity", record(metadata={"pad": "x" * 70_000}), ["metadata"]),
    ("finish_activity", {"status": "success"}, ["id is required"]),
    ("finish_activity", {"id": 999, "status": "success"}, ["no agent activity with id 999"]),
    ("finish_activity", {"id": 1}, ["at least one of status"]),
    ("recent_activities", {"limit": 0}, ["limit"]),
    ("recent_activities", {"format": "csv"}, ["format is not an argument"]),
])
def test_refused_calls_are_tool_errors_that_say_why(app, mcp, clock, name, arguments, words):
    result = call(mcp, name, arguments)["result"]
    assert result["isError"] is True and "structuredContent" not in result
    for word in words:
        assert word in result["content"][0]["text"]
    assert stored(app) == 0


def scoped_auth(app, *scopes):
    with app.app_context(), db.write():
        _, plaintext = create_token("scoped", scopes)
    return f"Bearer {plaintext}"


def test_a_token_without_the_scope_gets_a_jsonrpc_error_and_nothing_is_stored(app, mcp):
    report_only = scoped_auth(app, "report")
    assert mcp(rpc("tools/list"), Authorization=report_only).status_code == 200
    for name, scope in (("log_activity", "agents:write"), ("finish_activity", "agents:write"),
                        ("recent_activities", "agents:read")):
        answer = call(mcp, name, record(id=1), Authorization=report_only)
        assert answer["error"]["code"] == -32003 and answer["error"]["data"]["scope"] == scope
        assert scope in answer["error"]["message"]
    assert stored(app) == 0


def test_a_write_only_token_sees_ids_only(app, mcp):
    write_only = scoped_auth(app, "agents:write")
    first = call(mcp, "log_activity", record(idempotency_key="w"), Authorization=write_only)["result"]
    assert first["structuredContent"]["description"]
    again = call(mcp, "log_activity", record(idempotency_key="w"), Authorization=write_only)["result"]
    assert again["structuredContent"] == {"id": first["structuredContent"]["id"], "duplicate": True}


def test_writes_count_against_the_tokens_rate_limit(app, mcp, runner):
    set_setting(runner, "rate_limit_per_minute", "2")
    results = [call(mcp, "log_activity", record())["result"] for _ in range(3)]
    assert [r["isError"] for r in results] == [False, False, True]
    assert "Too many writes" in results[2]["content"][0]["text"]
    assert stored(app) == 2


# End to end: the official SDK client over Streamable HTTP against gunicorn.

async def with_session(url, token, work):
    """Run work(session) in an initialized SDK ClientSession that sends the token."""
    async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=30) as http:
        async with streamable_http_client(url + "/mcp", http_client=http) as (read, write):
            async with ClientSession(read, write) as session:
                await session.initialize()
                return await work(session)


def test_the_sdk_client_logs_finishes_and_reads_and_the_stream_sees_it(start_server):
    server = start_server(env={"WAKEN_SSE_POLL_SECONDS": "0.05"})
    token = server.token()
    report_only = server.cli("token", "create", "desk", "--scope", "report").strip().splitlines()[-1]
    reader = SseReader(server.url, token)
    assert reader.connected.wait(10)

    async def work(session):
        assert session.protocol_version == "2025-11-25"
        tools = (await session.list_tools()).tools
        logged = await session.call_tool("log_activity", record(status="running", agent="sdk"))
        finished = await session.call_tool("finish_activity", {"id": logged.structured_content["id"],
                                                               "status": "success", "duration_ms": 5})
        recent = await session.call_tool("recent_activities", {"agent": "sdk"})
        return tools, logged, finished, recent

    with Cost(server) as cost:
        tools, logged, finished, recent = anyio.run(with_session, server.url, token, work)
    print(cost)
    assert sorted(t.name for t in tools) == ["finish_activity", "log_activity", "recent_activities"]
    assert not logged.is_error and logged.structured_content["status"] == "running"
    record_id = logged.structured_content["id"]
    assert [a["id"] for a in _list(server, token)] == [record_id]
    streamed = reader.wait_for(1)
    reader.close()
    assert streamed[0]["id"] == record_id and streamed[0]["agent"] == "sdk"
    assert finished.structured_content["status"] == "success"
    assert recent.structured_content["activities"][0]["duration_ms"] == 5
    assert cost.peak <= WORKER_PEAK_MAX_MB, cost

    async def refused(session):
        with pytest.raises(MCPError) as raised:
            await session.call_tool("log_activity", record(description="should not be stored"))
        return raised.value

    err = anyio.run(with_session, server.url, report_only, refused)
    assert err.error.code == -32003 and "agents:write" in err.error.message
    assert [a["id"] for a in _list(server, token)] == [record_id]


def _list(server, token):
    response = requests.get(server.url + "/api/activities", headers={"Authorization": f"Bearer {token}"},
                            timeout=10)
    assert response.status_code == 200
    return response.json()["activities"]
