"""A catalogue of hostile inputs, each with the answer a careful server gives."""
import base64
import csv
import io
import json
import os
import struct
import zlib
from urllib.parse import urlsplit

import pytest
from PIL import Image

from tests.support import DEVICE_KEY


def report(**fields):
    """A minimal valid device report with changes."""
    return {"generatedHashKey": DEVICE_KEY, "process_name": "Code.exe", **fields}


def raw_report(metadata_json):
    """A report whose metadata is given as raw JSON text (for what json.dumps cannot write)."""
    return f'{{"generatedHashKey": "{DEVICE_KEY}", "process_name": "Code.exe", "metadata": {metadata_json}}}'.encode()


def nested(depth):
    return '{"a": ' + "[" * depth + "]" * depth + "}"


def png_bomb(width, height):
    """A tiny PNG file that claims width x height pixels (a decompression bomb)."""
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    row = b"\x00" + b"\x00" * ((width + 7) // 8)
    idat = zlib.compress(row * 64, 9)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0))
            + chunk(b"IDAT", idat) + chunk(b"IEND", b""))


SVG = (b'<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64">'
       b'<script>alert(document.cookie)</script><rect width="64" height="64"/></svg>')


def data_url(data, mime):
    return f"data:{mime};base64," + base64.b64encode(data).decode()


# (case, body bytes, expected status)
MALFORMED = [
    ("body over the 8 MiB limit", lambda: json.dumps(report(metadata={"pad": "x" * (9 << 20)})).encode(), 413),
    ("metadata over 64 KiB", lambda: json.dumps(report(metadata={"pad": "x" * (70 << 10)})).encode(), 413),
    ("JSON nested 100 000 deep", lambda: raw_report(nested(100_000)), 400),
    ("JSON nested 5 000 deep", lambda: raw_report(nested(5_000)), 400),
    ("JSON nested 900 deep", lambda: raw_report(nested(900)), 400),
    ("huge generatedHashKey", lambda: json.dumps(report(generatedHashKey="k" * 10_000)).encode(), 400),
    ("huge process_name", lambda: json.dumps(report(process_name="p" * 100_000)).encode(), 400),
    ("huge process_title", lambda: json.dumps(report(process_title="t" * 100_000)).encode(), 400),
    ("huge device name", lambda: json.dumps(report(device="d" * 10_000)).encode(), 400),
    ("NaN battery", lambda: json.dumps(report(battery_level=float("nan"))).encode(), 400),
    ("Infinity battery", lambda: json.dumps(report(battery_level=float("inf"))).encode(), 400),
    ("-Infinity in metadata", lambda: raw_report('{"x": -Infinity}'), 400),
    ("NaN in metadata", lambda: raw_report('{"x": NaN}'), 400),
    ("1e999 (overflows to infinity) in metadata", lambda: raw_report('{"x": 1e999}'), 400),
    ("1e999 battery", lambda: raw_report("null").replace(b'"metadata"', b'"battery_level": 1e999, "metadata"'), 400),
    ("invalid UTF-8 bytes", lambda: b'{"generatedHashKey": "' + DEVICE_KEY.encode() + b'", "process_name": "\xff\xfe\xfd"}', 400),
    ("Latin-1 text", lambda: json.dumps(report(process_name="caf\u00e9"), ensure_ascii=False).encode("latin-1"), 400),
    ("UTF-16 text", lambda: json.dumps(report()).encode("utf-16"), 400),
    ("NUL bytes only", lambda: b"\x00" * 64, 400),
    ("a JSON array", lambda: b"[1, 2, 3]", 400),
]


@pytest.mark.parametrize("case, make_body, status", MALFORMED, ids=[c[0] for c in MALFORMED])
def test_malformed_report_is_refused_with_a_sentence(client, auth, device, case, make_body, status):
    response = client.post("/api/activity", data=make_body(),
                           headers={**auth, "Content-Type": "application/json"})
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    body = response.get_json()
    assert body["success"] is False
    assert len(body["error"].split()) >= 3
    # Nothing was stored by a refused report.
    feed = client.get("/api/activity").get_json()["data"]
    assert feed["activeStatuses"] == []


IMAGES = [
    ("PNG decompression bomb", lambda: data_url(png_bomb(30_000, 30_000), "image/png")),
    ("SVG declared as SVG", lambda: data_url(SVG, "image/svg+xml")),
    ("SVG declared as PNG", lambda: data_url(SVG, "image/png")),
    ("truncated JPEG", lambda: data_url(b"\xff\xd8\xff\xe0" + b"\x00" * 40, "image/jpeg")),
    ("not base64", lambda: "data:image/png;base64,@@@@not*base64@@@@"),
]


@pytest.mark.parametrize("key", ["coverDataUrl", "appIconDataUrl"])
@pytest.mark.parametrize("case, make_url", IMAGES, ids=[c[0] for c in IMAGES])
def test_bad_image_is_dropped_with_a_warning(client, auth, device, app, case, make_url, key):
    response = client.post("/api/activity", json=report(metadata={"media": {"title": "Song", key: make_url()}}),
                           headers=auth)
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    body = response.get_json()
    media = body["data"]["metadata"]["media"]
    assert media == {"title": "Song"}
    assert len(body["warnings"]) == 1 and key in body["warnings"][0]
    assert "data:image" not in response.get_data(as_text=True)
    stored = [f for _root, _dirs, files in os.walk(app.config["MEDIA_DIR"]) for f in files]
    assert stored == []


def test_a_good_cover_next_to_the_bad_ones_is_kept(client, auth, device):
    buffer = io.BytesIO()
    Image.new("RGB", (40, 40), (200, 30, 30)).save(buffer, "PNG")
    response = client.post("/api/activity", headers=auth, json=report(metadata={"media": {
        "title": "Song", "coverDataUrl": data_url(buffer.getvalue(), "image/png"),
        "appIconDataUrl": data_url(SVG, "image/svg+xml")}}))
    body = response.get_json()
    assert response.status_code == 200
    assert body["data"]["metadata"]["media"]["coverUrl"].startswith("http")
    assert "appIconUrl" not in body["data"]["metadata"]["media"]
    assert len(body["warnings"]) == 1


TRAVERSALS = [
    "/media/cover/..%2f..%2fwaken.sqlite",
    "/media/cover/..%2fsecret_key",
    "/media/..%2fwaken.sqlite/x",
    "/media/../waken.sqlite",
    "/media/cover/../../waken.sqlite",
    "/media/cover/%2e%2e%2f%2e%2e%2fsecret_key",
    "/media/cover/..%5c..%5cwaken.sqlite",
    "/media/cover/%252e%252e%252fwaken.sqlite",
    "/media/../instance/waken.sqlite",
    "/media/cover/....//....//waken.sqlite",
    "/media/cover/%00.png",
    "/media/icon/" + "0" * 32 + ".png%00.sqlite",
    "/static/..%2f..%2fschema.sql",
    "/static/../../wsgi.py",
]


@pytest.fixture
def stored_cover(client, auth, device, app):
    """A real media folder with one cover in it, and a private file beside the database."""
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), (10, 20, 30)).save(buffer, "PNG")
    response = client.post("/api/activity", headers=auth, json=report(metadata={"media": {
        "title": "Song", "coverDataUrl": data_url(buffer.getvalue(), "image/png")}}))
    assert response.status_code == 200
    with open(os.path.join(app.instance_path, "secret_key"), "w") as f:
        f.write("private-sentinel-4f1e9b")
    return response.get_json()["data"]["metadata"]["media"]["coverUrl"]


@pytest.mark.parametrize("path", TRAVERSALS)
def test_path_traversal_in_media_urls_is_404(client, stored_cover, path):
    with client.get(urlsplit(stored_cover).path) as real:   # the folder and file are real
        assert real.status_code == 200
    response = client.get(path)
    assert response.status_code == 404
    text = response.get_data()
    assert b"SQLite format 3" not in text
    assert b"private-sentinel" not in text
    assert b"CREATE TABLE" not in text and b"create_app" not in text


@pytest.mark.parametrize("query", ["token={t}", "access_token={t}", "api_key={t}", "apiKey={t}",
                                   "authorization=Bearer%20{t}", "Authorization=Bearer+{t}"])
def test_token_in_query_string_is_not_accepted(client, token, device, query):
    response = client.post("/api/activity?" + query.format(t=token), json=report())
    assert response.status_code == 401
    assert response.get_json()["success"] is False
    assert client.get("/api/activity").get_json()["data"]["activeStatuses"] == []


def test_token_in_a_form_field_is_not_accepted(client, token, device):
    response = client.post("/api/activity", data={"token": token, **report()})
    assert response.status_code == 401
    assert client.get("/api/activity").get_json()["data"]["activeStatuses"] == []


AGENT_MALFORMED = [
    ("huge description", {"type": "tool_call", "description": "d" * 4001, "status": "success"}, 400),
    ("huge type", {"type": "t" * 65, "description": "x", "status": "success"}, 400),
    ("huge agent", {"type": "tool_call", "description": "x", "status": "success", "agent": "a" * 65}, 400),
    ("metadata over 64 KiB", {"type": "tool_call", "description": "x", "status": "success",
                              "metadata": {"pad": "x" * (70 << 10)}}, 413),
    ("duration past 64 bits", {"type": "tool_call", "description": "x", "status": "success",
                               "duration_ms": 2**70}, 400),
    ("tokens past 64 bits", {"type": "tool_call", "description": "x", "status": "success",
                             "tokens_used": 2**63}, 400),
]


@pytest.mark.parametrize("offset", [2**63, 10**30])
def test_an_offset_past_64_bits_is_400(client, auth, offset):
    response = client.get(f"/api/activities?offset={offset}", headers=auth)
    assert response.status_code == 400
    assert "offset" in response.get_json()["fields"]


@pytest.mark.parametrize("method", ["get", "patch"])
def test_an_id_past_64_bits_is_404(client, auth, method):
    response = getattr(client, method)(f"/api/activities/{2**63}", headers=auth, json={"status": "success"})
    assert response.status_code == 404
    assert response.get_json()["success"] is False


def test_a_huge_duration_cannot_be_patched_in(client, auth):
    created = client.post("/api/activities", headers=auth,
                          json={"type": "tool_call", "description": "x", "status": "running"}).get_json()
    response = client.patch(f"/api/activities/{created['id']}", json={"duration_ms": 2**64}, headers=auth)
    assert response.status_code == 400
    assert "duration_ms" in response.get_json()["fields"]


@pytest.mark.parametrize("case, body, status", AGENT_MALFORMED, ids=[c[0] for c in AGENT_MALFORMED])
def test_malformed_agent_activity_is_refused(client, auth, case, body, status):
    response = client.post("/api/activities", json=body, headers=auth)
    assert response.status_code == status
    assert response.get_json()["success"] is False
    assert client.get("/api/activities", headers=auth).get_json()["total"] == 0


@pytest.mark.parametrize("raw", [
    b'{"type": "tool_call", "description": "x", "status": "success", "duration_ms": NaN}',
    b'{"type": "tool_call", "description": "x", "status": "success", "tokens_used": Infinity}',
    b'{"type": "tool_call", "description": "x", "status": "success", "metadata": {"x": 1e999}}',
    b'{"type": "tool_call", "description": "\xff\xfe", "status": "success"}',
    ('{"type": "tool_call", "description": "x", "status": "success", "metadata": ' + nested(60_000) + "}").encode(),
], ids=["NaN", "Infinity", "1e999", "invalid UTF-8", "nested 60 000 deep"])
def test_hostile_agent_bodies_are_400(client, auth, raw):
    response = client.post("/api/activities", data=raw, headers={**auth, "Content-Type": "application/json"})
    assert response.status_code == 400
    assert client.get("/api/activities", headers=auth).get_json()["total"] == 0


def test_agent_bodies_past_the_small_body_limit_are_413(client, auth):
    raw = ('{"type": "tool_call", "description": "x", "status": "success", "metadata": '
           + nested(100_000) + "}").encode()
    response = client.post("/api/activities", data=raw, headers={**auth, "Content-Type": "application/json"})
    assert response.status_code == 413
    assert "at most 128 KiB" in response.get_json()["error"]
    assert client.get("/api/activities", headers=auth).get_json()["total"] == 0


def test_token_in_query_string_does_not_open_the_agent_log(client, token):
    assert client.get(f"/api/activities?token={token}").status_code == 401
    assert client.get(f"/api/activities/stats?access_token={token}").status_code == 401
    assert client.post(f"/api/activities?token={token}", json={
        "type": "tool_call", "description": "x", "status": "success"}).status_code == 401


FORMULAS = ["=HYPERLINK(\"http://evil.example\",\"click\")", "+1+cmd|' /C calc'!A0", "-2+3",
            "@SUM(A1:A9)", "\t=1+1", "\r=1+1"]


@pytest.mark.parametrize("cell", FORMULAS)
def test_csv_export_neutralises_formula_cells(client, auth, cell):
    response = client.post("/api/activities", headers=auth, json={
        "type": "command", "description": cell, "status": "success", "agent": cell, "metadata": {"cmd": cell}})
    assert response.status_code == 201
    csv_response = client.get("/api/activities/export", headers=auth)
    assert csv_response.status_code == 200
    rows = list(csv.reader(io.StringIO(csv_response.get_data(as_text=True))))
    header, row = rows[0], rows[1]
    assert header[:9] == ["id", "timestamp", "type", "description", "status", "duration_ms", "tokens_used",
                          "agent", "metadata"]
    for name in ("description", "agent"):
        value = row[header.index(name)]
        assert value[0] not in "=+-@\t\r", value
        assert value.endswith(cell.lstrip("\t\r")) or cell in value
    assert row[header.index("metadata")][0] not in "=+-@\t\r"
