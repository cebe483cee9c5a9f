"""JSON-RPC 2.0 as MCP uses it: error codes, the error, and answers as Flask returns them."""

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
# Implementation-defined (JSON-RPC keeps -32000 to -32099 for servers; the SDK itself
# uses -32000 and -32001): the token is valid but lacks the scope the tool needs.
FORBIDDEN = -32003


class RpcError(Exception):
    """A JSON-RPC error; status is the HTTP status when it refuses the whole request."""

    def __init__(self, code, message, data=None, status=200, headers=None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data
        self.status = status
        self.headers = headers


def result(request_id, value):
    """The response carrying a method's result."""
    return {"jsonrpc": "2.0", "id": request_id, "result": value}


def error(request_id, err):
    """The response carrying an RpcError (id null when the request's id could not be read)."""
    body = {"code": err.code, "message": err.message}
    if err.data is not None:
        body["data"] = err.data
    return {"jsonrpc": "2.0", "id": request_id, "error": body}


def refusal(err):
    """A Flask answer refusing the whole HTTP request: its status, a JSON-RPC error with id null."""
    return error(None, err), err.status, err.headers or {}
