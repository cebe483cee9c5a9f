"""One list of API paths: JSON errors and no CSRF check there, the OTLP shape under /v1/, pages elsewhere."""
import pytest


@pytest.mark.parametrize("path", ["/api/nowhere", "/mcp", "/mcp/nowhere", "/healthz/nowhere"])
def test_api_paths_answer_json_and_skip_the_form_check(client, path):
    answer = client.post(path, data="{}", content_type="application/json")
    assert answer.status_code in (401, 404, 405)     # not the form check's 400 (/mcp wants a token)
    assert answer.is_json and "error" in answer.json   # waken's envelope, or JSON-RPC's on /mcp


def test_otlp_paths_answer_in_otlp_shape(client):
    answer = client.post("/v1/nowhere", data="{}", content_type="application/json")
    assert answer.status_code == 404
    assert answer.json["code"] == 5 and answer.json["message"] == answer.json["error"]


def test_other_paths_check_forms_and_answer_pages(client):
    answer = client.post("/admin/login", data={"username": "a", "password": "b"})
    assert answer.status_code == 400
    assert answer.mimetype == "text/html" and "reload the page" in answer.text
