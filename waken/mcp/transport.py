"""POST /mcp: the Model Context Protocol over Streamable HTTP, stateless, every answer one JSON body.

Hand-written rather than the mcp SDK's server: that server is ASGI (Starlette and anyio)
and waken is a WSGI app on gunicorn threads, while a stateless tools-only server needs
five JSON-RPC methods (initialize, ping, tools/list, tools/call, and notifications).
"""
from importlib.metadata import version as package_version

from flask import current_app, request

from waken import settings
from waken.auth.tokens import authenticate
from waken.edge.security import csrf
from waken.errors import ApiError, DomainError
from waken.mcp import bp, tools
from waken.mcp.rpc import (
    INVALID_PARAMS,
    INVALID_REQUEST,
    METHOD_NOT_FOUND,
    PARSE_ERROR,
    RpcError,
    error,
    refusal,
    result,
)
from waken.payload import json_value, read_body

# Streamable HTTP exists from 2025-03-26 on; 2024-11-05 had the older HTTP+SSE transport.
VERSIONS = ("2025-03-26", "2025-06-18", "2025-11-25")
# What the spec says to assume of a request without the MCP-Protocol-Version header.
ASSUMED_VERSION = "2025-03-26"
# JSON-RPC batches exist in 2025-03-26 only (2025-06-18 removed them); each entry may run a
# query or a write, so a batch is capped too.
BATCH_VERSIONS = ("2025-03-26",)
MAX_BATCH = 20
INSTRUCTIONS = ("waken keeps a log of what agents do. Call log_activity for each action worth "
                "remembering (use status running, then finish_activity, for a long one), and "
                "recent_activities to read the log back.")


# Bearer tokens authenticate this route, like /api; a CSRF check means nothing here.
@csrf.exempt
@bp.post("/mcp")
def mcp_messages():
    """One JSON-RPC message (or a 2025-03-26 batch) in, its answer as JSON out; 202 for notifications."""
    try:
        token = _token()                     # 401 before a byte of the body is read
        _check_headers()
        payload = _payload()
    except RpcError as err:
        return refusal(err)
    if isinstance(payload, list):
        return _batch(payload, token)
    try:
        if not _is_initialize(payload):
            _negotiated_version()
        answer = _answer(payload, token)
    except RpcError as err:
        return refusal(err)
    if answer is None:
        return "", 202
    # A message that is not JSON-RPC at all is the request's fault, as in the SDK's server.
    return answer, 400 if answer.get("error", {}).get("code") == INVALID_REQUEST else 200


def _token():
    """The request's enabled token, whatever its scopes (each tool checks its own); else a 401."""
    try:
        return authenticate()
    except ApiError as err:
        raise RpcError(INVALID_REQUEST, err.message, status=err.status,
                       headers={"WWW-Authenticate": 'Bearer realm="waken"'}) from None


def _check_headers():
    """406 unless JSON is acceptable, 415 unless the body is JSON, 403 for a foreign Origin."""
    if "Accept" not in request.headers or not request.accept_mimetypes["application/json"]:
        raise RpcError(INVALID_REQUEST, "Not Acceptable: send 'Accept: application/json, text/event-stream'; "
                                        "this server answers every request with application/json.", status=406)
    if request.mimetype != "application/json":
        raise RpcError(INVALID_REQUEST, "Unsupported Media Type: send the JSON-RPC message as "
                                        "'Content-Type: application/json'.", status=415)
    # The spec asks servers to refuse other origins (DNS rebinding); MCP clients that are not
    # browsers send no Origin at all.
    origin = request.headers.get("Origin")
    if origin is not None and origin.rstrip("/") != settings.public_base():
        raise RpcError(INVALID_REQUEST, f"Forbidden: requests from the web page {origin[:100]} are not "
                                        "accepted; MCP clients send no Origin header.", status=403)


def _payload():
    """The parsed body within SMALL_BODY_MAX_BYTES; a parse error (400) or a 413 otherwise."""
    try:
        return json_value(read_body(current_app.config["SMALL_BODY_MAX_BYTES"]))
    except (ApiError, DomainError) as err:
        code = PARSE_ERROR if err.status == 400 else INVALID_REQUEST
        raise RpcError(code, f"Parse error: {err.message}" if err.status == 400 else err.message,
                       status=err.status) from None


def _negotiated_version():
    """The MCP-Protocol-Version the request names (the assumed one without it); 400 if not served."""
    sent = request.headers.get("MCP-Protocol-Version")
    if sent is None:
        return ASSUMED_VERSION
    if sent not in VERSIONS:
        raise RpcError(INVALID_REQUEST, f"Bad Request: unsupported MCP-Protocol-Version '{sent[:40]}'; "
                                        f"this server speaks {', '.join(VERSIONS)}.", status=400)
    return sent


def _is_initialize(message):
    return isinstance(message, dict) and message.get("method") == "initialize"


def _batch(messages, token):
    """Answers to a batch, in order, leaving out notifications; 400 where batches do not exist."""
    try:
        used = _negotiated_version()
        if used not in BATCH_VERSIONS:
            raise RpcError(INVALID_REQUEST, f"Protocol version {used} has no JSON-RPC batches; "
                                            "send one message per request.", status=400)
        if not messages or len(messages) > MAX_BATCH:
            raise RpcError(INVALID_REQUEST, f"A batch holds 1 to {MAX_BATCH} messages, not {len(messages)}.",
                           status=400)
        if any(_is_initialize(m) for m in messages):
            raise RpcError(INVALID_REQUEST, "initialize must be sent on its own, not in a batch.", status=400)
    except RpcError as err:
        return refusal(err)
    answers = [a for a in (_answer(m, token) for m in messages) if a is not None]
    return (answers, 200) if answers else ("", 202)


def _answer(message, token):
    """The response to one message; None for a notification, or a response (this server asks nothing)."""
    if not isinstance(message, dict) or message.get("jsonrpc") != "2.0":
        return error(None, RpcError(INVALID_REQUEST, "Invalid Request: send a JSON-RPC 2.0 object "
                                                     "with \"jsonrpc\": \"2.0\"."))
    request_id = message.get("id")
    valid_id = isinstance(request_id, (str, int)) and not isinstance(request_id, bool)
    if "method" not in message:
        if valid_id and ("result" in message or "error" in message):
            return None
        return error(None, RpcError(INVALID_REQUEST, "Invalid Request: a message needs a method."))
    method = message["method"]
    if not isinstance(method, str) or ("id" in message and not valid_id):
        return error(None, RpcError(INVALID_REQUEST, "Invalid Request: method must be a string and "
                                                     "id a string or an integer."))
    if "id" not in message:
        return None        # notifications/initialized, cancelled, …: nothing to do when stateless
    params = message.get("params", {})
    try:
        if not isinstance(params, dict):
            raise RpcError(INVALID_PARAMS, f"Invalid params: params of {method} must be an object.")
        handler = METHODS.get(method)
        if handler is None:
            raise RpcError(METHOD_NOT_FOUND, f"Method not found: {method[:80]}. This server offers "
                                             f"{', '.join(METHODS)}.")
        return result(request_id, handler(params, token))
    except RpcError as err:
        return error(request_id, err)


def _initialize(params, token):
    asked = params.get("protocolVersion")
    if not isinstance(asked, str):
        raise RpcError(INVALID_PARAMS, "Invalid params: initialize needs protocolVersion, a string.")
    return {"protocolVersion": asked if asked in VERSIONS else VERSIONS[-1],
            "capabilities": {"tools": {"listChanged": False}},
            "serverInfo": {"name": "waken", "title": "waken agent log", "version": package_version("waken")},
            "instructions": INSTRUCTIONS}


def _ping(params, token):
    return {}


def _list_tools(params, token):
    return {"tools": tools.definitions()}


def _call_tool(params, token):
    name, arguments = params.get("name"), params.get("arguments")
    if not isinstance(name, str):
        raise RpcError(INVALID_PARAMS, "Invalid params: tools/call needs name, the tool's name.")
    if arguments is not None and not isinstance(arguments, dict):
        raise RpcError(INVALID_PARAMS, "Invalid params: arguments must be an object.")
    return tools.call(name, arguments or {}, token)


METHODS = {"initialize": _initialize, "ping": _ping, "tools/list": _list_tools, "tools/call": _call_tool}
