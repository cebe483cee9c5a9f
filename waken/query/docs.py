"""GET /api/openapi.json and /api-reference: the API described, as data and as a page."""
from flask import current_app, make_response, render_template

from waken import settings
from waken.query import bp
from waken.query.pages import with_page_headers

METHOD_ORDER = ("get", "post", "patch", "put", "delete")
MAX_DEPTH = 4
TAG_ORDER = ("Device reporting", "Public feed", "Agent activity log", "Admin", "API description")


def openapi_document():
    """The document for this app, built once (the routes do not change while it runs)."""
    cached = current_app.extensions.get("waken.openapi")
    if cached is None:
        # apispec loads only when someone asks
        from waken.openapi.document import build_spec

        cached = current_app.extensions["waken.openapi"] = build_spec(current_app)
    return {**cached, "servers": [{"url": settings.public_base()}]}


@bp.get("/api/openapi.json")
def openapi_json():
    """The OpenAPI 3 document for every /api route."""
    return openapi_document()


@bp.get("/api-reference")
def api_reference():
    """A readable API reference, rendered here from the OpenAPI document (no CDN)."""
    spec = openapi_document()
    sections = {}
    for path, item in spec["paths"].items():
        for method in sorted(item, key=lambda m: METHOD_ORDER.index(m) if m in METHOD_ORDER else 9):
            op = item[method]
            tag = (op.get("tags") or ["Other"])[0]
            sections.setdefault(tag, []).append(_operation(spec, path, method, op))
    ordered = dict(sorted(sections.items(), key=lambda kv: TAG_ORDER.index(kv[0]) if kv[0] in TAG_ORDER else 99))
    html = render_template("api_reference.html", spec=spec, sections=ordered, s=settings.load())
    return with_page_headers(make_response(html))


def _operation(spec, path, method, op):
    body = (op.get("requestBody") or {}).get("content", {})
    return {
        "method": method, "path": path, "summary": op.get("summary", ""),
        "description": op.get("description", ""), "id": op.get("operationId", ""),
        "auth": _auth(op.get("security", spec.get("security", []))),
        "parameters": [_resolve(spec, p) for p in op.get("parameters", [])],
        "body": [(media, _rows(spec, content.get("schema", {}))) for media, content in body.items()],
        "responses": [_response(spec, status, answer) for status, answer in op.get("responses", {}).items()],
    }


def _auth(security):
    names = [" + ".join(req) or "none" for req in security]
    return " or ".join(names) if names else "none (public)"


def _response(spec, status, answer):
    answer = _resolve(spec, answer)
    content = answer.get("content", {})
    return {"status": status, "description": answer.get("description", ""),
            "bodies": [(media, _rows(spec, c.get("schema", {}))) for media, c in content.items()]}


def _resolve(spec, node):
    seen = 0
    while isinstance(node, dict) and "$ref" in node and seen < 10:
        _, section, kind, name = node["$ref"].split("/", 3)
        node = spec[section][kind][name]
        seen += 1
    return node


def _rows(spec, schema, depth=0, name=None, required=False):
    """A schema flattened into table rows: (depth, name, type, required, description)."""
    nullable = False
    if isinstance(schema, dict) and "anyOf" in schema:
        # OpenAPI 3.1 writes a nullable reference as anyOf [reference, {type: null}].
        branches = [b for b in schema["anyOf"] if b.get("type") != "null"]
        nullable = len(branches) < len(schema["anyOf"])
        schema = {**branches[0], **{k: v for k, v in schema.items() if k != "anyOf"}} if len(branches) == 1 else schema
    ref = schema.get("$ref", "").rsplit("/", 1)[-1] if isinstance(schema, dict) else ""
    schema = _resolve(spec, schema)
    kind = schema.get("type", ref or ("string" if schema.get("enum") else "object"))
    if isinstance(kind, list):
        nullable = nullable or "null" in kind
        kind = " | ".join(k for k in kind if k != "null") or "null"
    if kind == "array":
        item = schema.get("items", {})
        item_ref = item.get("$ref", "").rsplit("/", 1)[-1]
        kind = f"array of {item_ref or _resolve(spec, item).get('type', 'any')}"
    if schema.get("format"):
        kind += f", {schema['format']}"
    if None in schema.get("enum", ()):
        nullable = True
    if schema.get("enum"):
        kind += " (" + " | ".join(str(v) for v in schema["enum"] if v is not None) + ")"
    if schema.get("nullable") or nullable:
        kind += ", nullable"
    rows = [] if name is None else [(depth, name, kind, required, schema.get("description", ""))]
    if depth >= MAX_DEPTH:
        return rows
    target = _resolve(spec, schema.get("items", {})) if schema.get("type") == "array" else schema
    needed = set(target.get("required", []))
    for child, sub in (target.get("properties") or {}).items():
        rows += _rows(spec, sub, depth + (name is not None), child, child in needed)
    return rows
