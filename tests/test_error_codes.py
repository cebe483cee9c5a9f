"""The stable error codes: the table of every code and its status, the codes in use, and the answers that carry them."""
import ast
import re
from pathlib import Path

from waken import errors
from waken.error_codes import CODES, FIELD_CODES

ROOT = Path(__file__).resolve().parent.parent
# Released codes never change meaning or status: add a line for a new code, never edit one.
SNAPSHOT = {
    "invalid": 400, "bad_request": 400, "validation_failed": 400, "forbidden": 403, "not_found": 404,
    "method_not_allowed": 405, "conflict": 409, "payload_too_large": 413, "rate_limited": 429,
    "internal_error": 500, "unavailable": 503, "busy": 503, "http_error": 400, "csrf.failed": 400,
    "auth.required": 401, "auth.token_missing": 401, "auth.token_invalid": 401, "auth.token_disabled": 401,
    "auth.scope_missing": 403, "auth.admin_session_required": 401, "account.username_invalid": 400,
    "account.password_length": 400, "busy.password_check": 429, "token.scope_unknown": 400,
    "token.name_required": 400, "token.not_found": 404, "body.too_large": 413, "body.not_object": 400,
    "body.empty": 400, "body.too_many_values": 413, "body.not_utf8": 400, "body.too_deep": 400,
    "body.invalid_json": 400, "body.lone_surrogate": 400, "body.metadata_too_large": 413,
    "query.repeated_parameter": 400, "query.date_range_invalid": 400, "setting.unknown": 400,
    "setting.invalid": 400, "activity.validation_failed": 400, "device.pending_approval": 202,
    "device.revoked": 403, "device.unknown": 403, "device.reserved": 403, "device.orphaned": 403,
    "device.token_mismatch": 403, "device.limit_reached": 403, "device.key_invalid": 400,
    "device.key_taken": 409, "device.key_unusable": 400, "device.not_found": 404,
    "media_rule.source_required": 400, "media_rule.action_invalid": 400, "media_rule.label_required": 400,
    "media_rule.label_too_long": 400, "media_rule.duplicate": 400, "media_rule.not_found": 404,
    "app_rule.process_required": 400, "app_rule.label_too_long": 400, "app_rule.empty": 400,
    "app_rule.not_found": 404, "busy.images": 503, "busy.export": 503, "agent_activity.validation_failed": 400,
    "agent_activity.not_found": 404, "agent_activity.timestamp_future": 400,
    "agent_activity.timestamp_too_old": 400, "agent_session.not_found": 404, "price.invalid": 400,
    "price.model_required": 400, "price.model_too_long": 400, "price.not_found": 404, "busy.otlp": 503,
    "stream.limit_reached": 503, "health.database_unreadable": 503, "health.writes_failing": 503,
    "disk.full": 507, "disk.read_only": 503, "disk.io_error": 503,
    "otlp.metric_invalid": 400, "status.validation_failed": 400, "status.text_required": 400,
    "status.text_too_long": 400, "status.emoji_too_long": 400, "status.until_invalid": 400,
    "status.until_past": 400, "status.until_too_far": 400, "embed.theme_invalid": 400,
    "embed.hide_invalid": 400, "embed.width_invalid": 400, "stats.private_mode": 401, "stats.not_public": 401,
    "history.token_required": 401, "alert_channel.name_required": 400, "alert_channel.name_too_long": 400,
    "alert_channel.url_invalid": 400, "alert_channel.name_taken": 409, "alert_channel.not_found": 404,
    "alert_rule.unknown": 400, "alert_rule.channel_unknown": 400, "alert_rule.channel_required": 400,
    "alert_rule.cooldown_invalid": 400, "alert_rule.param_not_number": 400,
    "alert_rule.param_out_of_range": 400, "alert_rule.param_empty": 400, "alert_rule.param_unknown": 400,
}
FIELD_SNAPSHOT = (
    "field.required", "field.null", "field.unknown", "field.empty", "field.repeated", "field.not_number",
    "field.not_integer", "field.not_boolean", "field.not_string", "field.not_object", "field.not_allowed",
    "field.too_long", "field.out_of_range", "field.not_date", "field.mismatch", "field.invalid",
)

CLASSES = {name: getattr(errors, name).status for name in
           ("Invalid", "Forbidden", "NotFound", "Conflict", "PayloadTooLarge", "TooManyRequests", "Busy")}


def _codes_in_source():
    """(code, status or None, where) for every code= given at a raise site, a parse/load or error_body."""
    found = []
    for path in (ROOT / "waken").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", getattr(node.func, "attr", None))
            code = next((k.value.value for k in node.keywords if k.arg == "code"
                         and isinstance(k.value, ast.Constant)), None)
            if name == "error_body" and len(node.args) > 1 and isinstance(node.args[1], ast.Constant):
                code = node.args[1].value
            if code is None or not isinstance(code, str):
                continue
            status = CLASSES.get(name)
            if name == "ApiError" and isinstance(node.args[0], ast.Constant):
                status = node.args[0].value
            if name in ("parse", "load"):
                status = 400
            found.append((code, status, f"{path.relative_to(ROOT)}:{node.lineno}"))
    return found


def test_the_table_of_codes_and_statuses_is_the_released_one():
    assert {code: status for code, (status, _meaning) in CODES.items()} == SNAPSHOT
    assert tuple(FIELD_CODES) == FIELD_SNAPSHOT


def test_every_code_in_use_is_in_the_table_with_its_status():
    used = _codes_in_source()
    assert len(used) > 60
    for code, status, where in used:
        assert code in CODES, f"{where}: {code} is not in waken/error_codes.py"
        assert status is None or CODES[code][0] == status, f"{where}: {code} answers {status}"
    defaults = [cls.code for cls in errors.DomainError.__subclasses__() if cls is not errors.DiskRefused]
    for code in [*defaults, *errors.STATUS_CODES.values(), "csrf.failed"]:
        assert code in CODES


def test_every_code_is_in_the_docs_table_and_the_openapi_document(client):
    table = dict(re.findall(r"^\| `([a-z0-9_.]+)` \| (\d{3}) \|", (ROOT / "docs" / "errors.md").read_text(), re.M))
    assert table == {code: str(status) for code, status in SNAPSHOT.items()}
    docs_fields = set(re.findall(r"^\| `(field\.[a-z_]+)` \|", (ROOT / "docs" / "errors.md").read_text(), re.M))
    assert docs_fields == set(FIELD_SNAPSHOT)
    error = client.get("/api/openapi.json").json["components"]["schemas"]["Error"]["properties"]
    assert set(error["code"]["enum"]) == set(SNAPSHOT)
    assert {c: v["status"] for c, v in error["code"]["x-codes"].items()} == SNAPSHOT


def test_answers_carry_code_params_and_a_code_per_field(client, auth, device, runner):
    bad = client.post("/api/activity", headers={"Authorization": "Bearer nope"}, json={})
    assert (bad.status_code, bad.json["code"], bad.json["params"]) == (401, "auth.token_invalid", {})
    assert bad.json["error"] == "Invalid API token."
    invalid = client.post("/api/activity", headers=auth, json={"generatedHashKey": device, "battery_level": "x"})
    assert invalid.status_code == 400 and invalid.json["code"] == "activity.validation_failed"
    assert invalid.json["fieldCodes"] == {"process_name": "field.required", "battery_level": "field.not_number"}
    assert invalid.json["params"] == {"fields": ["battery_level", "process_name"]}
    agent = client.post("/api/activities", headers=auth, json={"type": "x", "description": "d", "status": "maybe"})
    assert agent.json["code"] == "agent_activity.validation_failed"
    assert agent.json["fieldCodes"] == {"status": "field.not_allowed"}
    assert client.get("/api/nowhere").json["code"] == "not_found"
    assert client.delete("/api/activity").json["code"] == "method_not_allowed"
    runner.invoke(args=["settings", "set", "rate_limit_per_minute", "1"])
    body = {"generatedHashKey": device, "process_name": "Code"}
    client.post("/api/activity", headers=auth, json=body)
    limited = client.post("/api/activity", headers=auth, json=body)
    assert limited.status_code == 429 and limited.json["code"] == "rate_limited"
    assert limited.json["params"]["scope"] == "token" and limited.json["params"]["limit"] == 1
