"""The MCP tools log_activity, finish_activity and recent_activities, over the REST views' own functions."""
import json

from flask import current_app

from waken import db
from waken.agent_log import store as agent_log
from waken.auth.tokens import require_scope, touch_token
from waken.edge import limits
from waken.errors import ApiError, DomainError
from waken.ingest.agent_log import finish_record
from waken.mcp.rpc import FORBIDDEN, INVALID_PARAMS, RpcError
from waken.mcp.tool_schemas import LIST_ARGUMENTS, schemas
from waken.payload import load
from waken.schemas.agent_log import (
    record_create_schema,
    record_list_schema,
    record_schema,
    record_update_schema,
)
from waken.schemas.agent_log_queries import log_query_schema
from waken.timeutil import now


def _log_activity(arguments, token):
    limits.charge_token(token.id)           # counted like POST /api/activities, before the checks
    data = load(record_create_schema, arguments)
    with db.write():
        at = now()
        touch_token(token, at)
        record, created = agent_log.create_record(data, at, agent_log.caller_of(token))
    if not created and "agents:read" not in token.scopes:
        return {"id": record["id"], "duplicate": True}
    return {**record_schema.dump(record), "duplicate": not created}


def _finish_activity(arguments, token):
    record_id = arguments.get("id")
    if not isinstance(record_id, int) or isinstance(record_id, bool) or record_id < 1:
        raise ApiError(400, "id is required: the id log_activity answered, a whole number of at least 1.",
                       fields={"id": "must be a whole number of at least 1"}, code="invalid")
    limits.charge_token(token.id)           # PATCH over REST is not counted; a tool call is a write all the same
    return finish_record(token, record_id, load(record_update_schema, {k: v for k, v in arguments.items() if k != "id"}))


def _recent_activities(arguments, token):
    unknown = sorted(set(arguments) - set(LIST_ARGUMENTS))
    if unknown:
        raise ApiError(400, f"{unknown[0][:40]} is not an argument of recent_activities; it takes "
                            f"{', '.join(LIST_ARGUMENTS)}.", fields={unknown[0][:40]: "is not a known argument"}, code="invalid")
    page = record_list_schema.dump(agent_log.list_records(load(log_query_schema, arguments), now()))
    return {key: page[key] for key in ("activities", "total", "hasMore")}


# name: (scope, function, title, description, annotations)
TOOLS = {
    "log_activity": ("agents:write", _log_activity, "Log an agent action",
                     "Record one action you took (a tool call, a command, a file written, a message) in "
                     "waken's agent log. For a long action, log it with status running and later call "
                     "finish_activity with its id. Retries with the same idempotency_key store it once.",
                     {"readOnlyHint": False, "destructiveHint": False, "idempotentHint": False,
                      "openWorldHint": False}),
    "finish_activity": ("agents:write", _finish_activity, "Finish a logged action",
                        "Finish a record that log_activity stored as pending or running: its final status "
                        "(success or error), duration_ms, tokens_used; metadata keys are merged in.",
                        {"readOnlyHint": False, "destructiveHint": False, "idempotentHint": True,
                         "openWorldHint": False}),
    "recent_activities": ("agents:read", _recent_activities, "Read the agent log",
                          "The newest records of waken's agent log, filtered by type, status, agent and "
                          "dates; limit and offset page through them.",
                          {"readOnlyHint": True, "openWorldHint": False}),
}


def definitions():
    """The tools as tools/list answers them, built once per app."""
    cached = current_app.extensions.get("waken.mcp.tools")
    if cached is None:
        shapes = schemas()
        cached = current_app.extensions["waken.mcp.tools"] = [
            {"name": name, "title": title, "description": f"{description} Needs a token with the {scope} scope.",
             "inputSchema": shapes[name][0], "outputSchema": shapes[name][1], "annotations": hints}
            for name, (scope, _, title, description, hints) in TOOLS.items()]
    return cached


def call(name, arguments, token):
    """The tools/call result: the tool's answer, or isError with a sentence when the call was refused.

    A missing scope is a JSON-RPC error instead: only the token's owner can fix it, not the model.
    """
    if name not in TOOLS:
        raise RpcError(INVALID_PARAMS, f"Unknown tool: {name[:80]}. The tools are {', '.join(TOOLS)}.")
    scope, run = TOOLS[name][:2]
    try:
        require_scope(token, scope)
    except ApiError as err:
        raise RpcError(FORBIDDEN, err.message, data={"scope": scope, "tokenScopes": list(token.scopes)}) from None
    try:
        value = run(arguments, token)
    except (ApiError, DomainError) as err:
        # Invalid arguments (the sentence names each field), an unknown id, too many writes, a
        # full disk: nothing was stored, and the model can read why and act on it.
        return {"content": [{"type": "text", "text": err.message}], "isError": True}
    return {"content": [{"type": "text", "text": json.dumps(value, ensure_ascii=False)}],
            "structuredContent": value, "isError": False}

