"""GET /api/openapi.json and /api-reference: valid, complete, and drawn from the live schemas."""
import re

import pytest
from openapi_spec_validator import validate

from waken.schemas.agent_log import record_create_schema
from waken.schemas.reports import report_schema

SKIPPED = {"HEAD", "OPTIONS"}


@pytest.fixture
def spec(client):
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    return response.get_json()


def resolve(spec, node):
    while "$ref" in node:
        _, section, kind, name = node["$ref"].split("/", 3)
        node = spec[section][kind][name]
    return node


def flask_routes(app):
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(("/api/", "/v1/")):
            path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule)
            for method in rule.methods - SKIPPED:
                yield path, method.lower()


def test_document_is_valid_openapi(spec):
    validate(spec)
    assert spec["openapi"].startswith("3.")
    assert spec["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http", "scheme": "bearer",
        "description": spec["components"]["securitySchemes"]["bearerAuth"]["description"]}
    assert spec["servers"] == [{"url": "http://localhost"}]


def test_every_api_route_is_described(app, spec):
    routes = set(flask_routes(app))
    assert {("/api/activity", "post"), ("/api/activity", "get"), ("/api/activity/stream", "get")} <= routes
    documented = {(path, method) for path, item in spec["paths"].items() for method in item}
    assert documented == routes
    for path, method in routes:
        op = spec["paths"][path][method]
        assert "x-undocumented" not in op, f"{method.upper()} {path} has no entry in waken/openapi/operations.py"
        assert op["summary"] and "security" in op
        statuses = set(op["responses"])
        assert any(s.startswith("2") for s in statuses), (method, path)
        if op["security"]:
            assert "401" in statuses, (method, path)
        if method in ("post", "patch"):
            assert op["requestBody"]["content"]["application/json"]["schema"], (method, path)
            assert "400" in statuses


def test_request_bodies_come_from_the_validating_schemas(spec):
    for path, schema in (("/api/activity", report_schema), ("/api/activities", record_create_schema)):
        body = resolve(spec, spec["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"])
        assert set(body["properties"]) == {f.data_key or name for name, f in schema.fields.items()}
        assert set(body["required"]) == {f.data_key or name for name, f in schema.fields.items() if f.required}
    report = resolve(spec, spec["paths"]["/api/activity"]["post"]["requestBody"]["content"]["application/json"]["schema"])
    assert report["properties"]["push_mode"]["enum"] == ["realtime", "active", None]


def test_feed_response_and_query_are_described(spec):
    op = spec["paths"]["/api/activity"]["get"]
    assert [p["name"] for p in op["parameters"]] == ["limit"]
    assert op["security"] == []
    feed = resolve(spec, resolve(spec, op["responses"]["200"]["content"]["application/json"]["schema"])
                   ["properties"]["data"])
    item = resolve(spec, feed["properties"]["activeStatuses"]["items"])
    assert {"id", "device", "deviceType", "processName", "processTitle", "pushMode", "startedAt", "updatedAt",
            "endedAt", "metadata", "online", "lastReportAt", "battery", "nowPlaying"} <= set(item["properties"])
    assert "503" in spec["paths"]["/api/activity/stream"]["get"]["responses"]
    error = resolve(spec, spec["components"]["responses"]["Error400"]["content"]["application/json"]["schema"])
    assert set(error["properties"]) == {"success", "error", "code", "params", "fields", "fieldCodes"}
    assert "device.pending_approval" in error["properties"]["code"]["enum"]


def test_api_reference_page_is_rendered_on_the_server(client, spec):
    response = client.get("/api-reference")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    for path, item in spec["paths"].items():
        assert path in html
        for op in item.values():
            assert op["summary"] in html
    assert "generatedHashKey" in html and "Bearer" in html
    assert "cdn" not in html.lower()
    assert not re.search(r"<(script|link)[^>]+(src|href)=\"https?:", html)
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
