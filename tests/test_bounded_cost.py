"""Hostile requests against a live server cost bounded CPU, memory and lock time (issue table rows)."""
import base64
import io
import struct
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from PIL import Image

from tests.admin_support import PASSWORD, USERNAME, Admin, create_admin, csrf_of
from tests.cost_support import Cost, LockWatch, gradients, png, workers
from waken.bench.proc import memory_mb

KEY = "wwd-bounded-cost-0001"
MIB = 1024 * 1024


# --- the server and its helpers ----------------------------------------------------------

@pytest.fixture(scope="module")
def live(tmp_path_factory):
    from tests.support import LiveServer
    server = LiveServer(tmp_path_factory.mktemp("bounded") / "instance").start()
    token = server.token()
    server.device("Desk", KEY)
    create_admin(server)
    yield server, {"Authorization": f"Bearer {token}"}
    server.stop()


def report(server, auth, metadata=None, **fields):
    body = {"generatedHashKey": KEY, "process_name": "Music", "metadata": metadata or {}, **fields}
    return requests.post(server.url + "/api/activity", json=body, headers=auth, timeout=60)


def cover_report(server, auth, image_bytes, mime, title="Song"):
    """A report whose track (a new one for each title) comes with this cover."""
    url = f"data:{mime};base64," + base64.b64encode(image_bytes).decode()
    return report(server, auth, {"media": {"title": title, "coverDataUrl": url}})


# --- row 3: an 8 MiB body without a token -------------------------------------------------

def nested_lists(size):
    """About size bytes of `[[],[],...]`: millions of tiny values, the costliest shape to parse."""
    return b'{"metadata":{"x":[' + b"[]," * (size // 3 - 20) + b"[]]}}"


@pytest.mark.parametrize("path", ["/api/activity", "/api/activity/verify", "/api/activities"])
def test_a_body_without_a_valid_token_is_never_parsed(live, path):
    server, _ = live
    body = nested_lists(8 * MIB - 64)
    healthz = []

    def poll_healthz(stop):
        while not stop.is_set():
            started = time.monotonic()
            assert requests.get(server.url + "/healthz", timeout=10).status_code == 200
            healthz.append(time.monotonic() - started)
            time.sleep(0.05)

    stop = threading.Event()
    with Cost(server) as cost, ThreadPoolExecutor(5) as pool:
        watcher = pool.submit(poll_healthz, stop)
        answers = list(pool.map(lambda headers: requests.post(server.url + path, data=body, headers=headers,
                                                              timeout=60),
                                [{}, {"Authorization": "Bearer wrong"}] * 2))
        stop.set()
        watcher.result()
    print(f"\n{path} 4 x 8 MiB without a valid token: {cost}; slowest /healthz {max(healthz):.3f} s")
    assert [a.status_code for a in answers] == [401] * 4
    assert all(a.json()["success"] is False for a in answers)
    assert cost.cpu < 0.5 * 4
    assert cost.extra < 64
    assert max(healthz) < 1.0


def test_open_agent_ingest_parses_anonymous_bodies_within_bounds(live):
    server, auth = live
    server.cli("settings", "set", "agent_ingest_open", "true")
    try:
        shapes = {"8 MiB": nested_lists(8 * MIB - 64), "128 KiB of tiny values": nested_lists(128 * 1024 - 64)}
        for name, body in shapes.items():
            with Cost(server) as cost:
                answer = requests.post(server.url + "/api/activities", data=body, timeout=60)
            print(f"\nanonymous agent body, {name}: {answer.status_code} {cost}")
            assert answer.status_code in (400, 413)
            assert cost.cpu < 0.5 and cost.extra < 64
        stored = requests.post(server.url + "/api/activities", json={
            "type": "tool_call", "description": "anonymous", "status": "success"}, timeout=10)
        assert stored.status_code == 201
    finally:
        server.cli("settings", "set", "agent_ingest_open", "false")


# --- item 2: bounded parsing with a valid token -------------------------------------------

def shapes(limit):
    """Hostile JSON shapes of about `limit` bytes."""
    pad = limit - 200
    return {
        "nested lists": nested_lists(pad),
        "zeros": b'{"generatedHashKey":"k","process_name":"p","metadata":{"x":[' + b"0," * (pad // 2) + b"0]}}",
        "empty objects": b'{"metadata":{"x":[' + b"{}," * (pad // 3) + b"{}]}}",
        "tiny strings": b'{"metadata":{"x":[' + b'"",' * (pad // 3) + b'""]}}',
        "many keys": b'{"metadata":{' + b",".join(b'"%d":0' % i for i in range(pad // 12)) + b"}}",
        "deep nesting": b'{"metadata":{"x":' + b"[" * (pad // 2) + b"]" * (pad // 2) + b"}}",
        "one long string": b'{"generatedHashKey":"' + b"k" * pad + b'","process_name":"p"}',
        "long escaped string": b'{"process_name":"' + b"\\u00e9" * (pad // 6) + b'"}',
        "one long number": b'{"battery_level":' + b"1" * pad + b"}",
    }


@pytest.mark.parametrize("path, limit", [("/api/activity", 8 * MIB), ("/api/activities", 128 * 1024)])
def test_no_body_shape_up_to_the_limit_costs_more_than_half_a_second(live, path, limit):
    server, auth = live
    for name, body in shapes(limit).items():
        assert len(body) <= limit
        with Cost(server) as cost:
            answer = requests.post(server.url + path, data=body, headers=auth, timeout=60)
        print(f"\n{path} {name} ({len(body) // 1024} KiB): {answer.status_code} {cost}")
        assert 400 <= answer.status_code < 500, (name, answer.text[:200])
        assert answer.json()["success"] is False
        assert cost.cpu < 0.5, name
        assert cost.extra < 64, name
    too_big = requests.post(server.url + path, data=b"{" + b" " * limit + b"}", headers=auth, timeout=60)
    assert too_big.status_code == 413


# --- row 4: a wrong admin password ----------------------------------------------------------

def test_a_failed_login_takes_no_write_lock(live):
    server, _ = live
    session = requests.Session()
    csrf = csrf_of(session.get(server.url + "/admin/login", timeout=10).text)
    with LockWatch(server) as lock:
        for _ in range(8):
            answer = session.post(server.url + "/admin/login", timeout=10, allow_redirects=False, data={
                "csrf_token": csrf, "username": USERNAME, "password": "wrong password"})
            assert answer.status_code == 401
    print(f"\n8 failed logins: longest write lock {lock.longest * 1000:.0f} ms, {len(lock.spans)} stretches")
    assert lock.spans == []


def test_a_writer_waits_only_for_writes_while_a_cover_decodes(live):
    server, auth = live
    image = io.BytesIO()
    gradients("RGBA").transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(image, "PNG")
    agent_waits = []

    def agent_writes(stop):
        while not stop.is_set():
            started = time.monotonic()
            answer = requests.post(server.url + "/api/activities", headers=auth, timeout=30, json={
                "type": "tool_call", "description": "concurrent", "status": "success"})
            assert answer.status_code == 201
            agent_waits.append(time.monotonic() - started)

    stop = threading.Event()
    with LockWatch(server) as lock, ThreadPoolExecutor(2) as pool:
        writer = pool.submit(agent_writes, stop)
        started = time.monotonic()
        answer = cover_report(server, auth, image.getvalue(), "image/png")
        decode = time.monotonic() - started
        stop.set()
        writer.result()
    print(f"\n4096x4096 RGBA PNG ({len(image.getvalue()) // 1024} KiB): {answer.status_code} in {decode:.2f} s; "
          f"longest write lock {lock.longest * 1000:.0f} ms; concurrent agent writes: {len(agent_waits)}, "
          f"slowest {max(agent_waits) * 1000:.0f} ms")
    assert answer.status_code == 200 and "coverUrl" in answer.json()["data"]["metadata"]["media"]
    assert lock.longest < 0.25
    assert max(agent_waits) < 0.5


# --- rows 1 and 2: hostile images ----------------------------------------------------------

def jpeg_segments(data):
    """The segments of a JPEG after SOI: (marker, bytes), each scan with its entropy-coded data."""
    out, i = [], 2
    while i < len(data):
        marker = data[i + 1]
        if marker == 0xD9:
            out.append((marker, data[i:i + 2]))
            break
        end = i + 2 + struct.unpack(">H", data[i + 2:i + 4])[0]
        if marker == 0xDA:
            while not (data[end] == 0xFF and data[end + 1] != 0 and not 0xD0 <= data[end + 1] <= 0xD7):
                end += 1
        out.append((marker, data[i:end]))
        i = end
    return out


def many_scan_jpeg(side, scans):
    """A progressive JPEG whose second scan (an AC scan, with its Huffman table) is repeated `scans` times."""
    buffer = io.BytesIO()
    Image.new("L", (side, side), 128).save(buffer, "JPEG", progressive=True, quality=90)
    segments = jpeg_segments(buffer.getvalue())
    sos = [k for k, (marker, _) in enumerate(segments) if marker == 0xDA][1]
    first = sos - 1 if segments[sos - 1][0] == 0xC4 else sos
    unit = b"".join(part for _, part in segments[first:sos + 1])
    return (b"\xff\xd8" + b"".join(part for _, part in segments[:sos + 1]) + unit * scans
            + b"".join(part for _, part in segments[sos + 1:]))


def hostile_images():
    """(name, bytes, mime, stored?) for the image catalogue; each within the 4 MiB upload limit."""
    side = 4096
    return [
        ("PNG 6300x6300 (170 KB)", png(Image.new("RGB", (6300, 6300), (200, 30, 30)), compress_level=9),
         "image/png", False),
        ("progressive JPEG, 6000 scans", many_scan_jpeg(side, 6000), "image/jpeg", False),
        ("PNG RGBA 4096x4096", png(gradients("RGBA")), "image/png", True),
        ("PNG RGB 4096x4096", png(gradients("RGB")), "image/png", True),
        ("PNG palette 4096x4096 with transparency",
         png(Image.new("P", (side, side), 3), transparency=3), "image/png", True),
        ("PNG 16-bit grey 4096x4096", png(Image.new("I;16", (side, side), 40000)), "image/png", True),
        ("PNG 1-bit 4096x4096", png(Image.new("1", (side, side), 1)), "image/png", True),
        ("JPEG 4096x4096", jpeg(gradients("RGB")), "image/jpeg", True),
        ("GIF 4096x4096", gif(Image.new("P", (side, side), 1)), "image/gif", True),
        ("WebP 4096x4096", webp(Image.new("RGB", (side, side), (1, 2, 3))), "image/webp", False),
        ("WebP 2048x2048", webp(gradients("RGB", 2048)), "image/webp", True),
    ]


def jpeg(img):
    buffer = io.BytesIO()
    img.save(buffer, "JPEG", quality=30)
    return buffer.getvalue()


def gif(img):
    buffer = io.BytesIO()
    img.save(buffer, "GIF")
    return buffer.getvalue()


def webp(img):
    buffer = io.BytesIO()
    img.save(buffer, "WEBP", lossless=True)
    return buffer.getvalue()


@pytest.mark.slow
def test_the_hostile_image_catalogue_costs_bounded_time_and_memory(live):
    server, auth = live
    for name, data, mime, stored in hostile_images():
        assert len(data) <= 4 * MIB, name
        with Cost(server) as cost:
            answer = cover_report(server, auth, data, mime, title=name)
        assert answer.status_code == 200, (name, answer.text[:200])
        media = answer.json()["data"]["metadata"]["media"]
        print(f"\n{name} ({len(data) // 1024} KiB): {'stored' if 'coverUrl' in media else 'refused'} {cost}")
        if stored:
            assert "coverUrl" in media, (name, answer.json().get("warnings"))
        else:
            assert "coverUrl" not in media and "coverDataUrl was dropped" in answer.json()["warnings"][0]
        assert cost.cpu < 1.0, name
        assert cost.extra < 100, name
        assert cost.peak < 200, name
    time.sleep(0.5)
    for pid in workers(server):
        assert memory_mb(pid)["rss"] < 120, memory_mb(pid)


# --- row 5 and 6: stored values and hostile parameters --------------------------------------

def test_a_year_1_timestamp_leaves_every_page_working(live):
    server, auth = live
    answer = report(server, auth, {"media": {"title": "Song", "timestamps": {
        "start": "0001-01-01T00:00:00+14:00", "end": "9999-12-31T23:59:59-14:00"}}}, process_name="Player")
    assert answer.status_code == 200
    admin = Admin.live(server).login()
    for path in ["/", "/api/activity", "/admin/", "/admin/devices", "/admin/agents",
                 "/api/activities/export"]:
        assert admin.get(path, headers=auth).status_code == 200, path
    feed = requests.get(server.url + "/api/activity", timeout=10).json()["data"]["activeStatuses"]
    assert [item["nowPlaying"]["startMs"] for item in feed if item["processName"] == "Player"] == [None]
    with requests.get(server.url + "/api/activity/stream", stream=True, timeout=10) as stream:
        assert stream.status_code == 200
        text = ""
        for chunk in stream.iter_content(chunk_size=None, decode_unicode=True):
            text += chunk
            if "event: activity" in text and text.endswith("\n\n"):
                break
    assert '"Player"' in text


@pytest.mark.parametrize("query", ["endDate=9999-12-31", "startDate=0001-01-01", "endDate=9999-12-31T23:59:59-14:00",
                                   "startDate=0001-01-01T00:00:00%2B14:00", "endDate=99999-01-01"])
def test_date_parameters_out_of_range_are_400(live, query):
    server, auth = live
    for path in ("/api/activities", "/api/activities/export"):
        answer = requests.get(f"{server.url}{path}?{query}", headers=auth, timeout=10)
        assert answer.status_code == 400, (query, answer.text[:200])
        assert set(answer.json()["fields"]) & {"startDate", "endDate"}


@pytest.mark.parametrize("path, body", [
    ("/api/activity", '{"generatedHashKey": "%s", "process_name": "\\ud800"}' % KEY),
    ("/api/activity", '{"generatedHashKey": "%s", "process_name": "M", "metadata": {"\\udfff": 1}}' % KEY),
    ("/api/activities", '{"type": "tool_call", "description": "x\\ud83d", "status": "success"}'),
    ("/api/activity/verify", '{"generatedHashKey": "%s", "device": "\\ud800"}' % KEY),
])
def test_a_lone_surrogate_is_400(live, path, body):
    server, auth = live
    answer = requests.post(server.url + path, data=body.encode(), headers=auth, timeout=10)
    assert answer.status_code == 400
    assert "lone surrogate" in answer.json()["error"]
    # A proper pair (an escaped emoji) is fine.
    pair = body.replace("\\ud800", "\\ud83d\\ude00").replace("\\udfff", "\\ud83d\\ude00").replace(
        "\\ud83d\"", "\\ud83d\\ude00\"")
    assert requests.post(server.url + path, data=pair.encode(), headers=auth, timeout=10).status_code in (200, 201)


def test_next_with_control_characters_falls_back_to_the_overview(live):
    server, _ = live
    admin = requests.Session()
    csrf = csrf_of(admin.get(server.url + "/admin/login?next=/admin%0d%0aX", timeout=10).text)
    answer = admin.post(server.url + "/admin/login?next=/admin%0d%0aX", timeout=10, allow_redirects=False,
                        data={"csrf_token": csrf, "username": USERNAME, "password": PASSWORD})
    assert answer.status_code == 302
    assert answer.headers["Location"] == "/admin/"


def test_an_anonymous_admin_form_of_millions_of_fields_is_413_before_parsing(live):
    server, _ = live
    body = b"a&" * (4 * MIB - 10)
    with Cost(server) as cost:
        answer = requests.post(server.url + "/admin/login", data=body, timeout=60,
                               headers={"Content-Type": "application/x-www-form-urlencoded"})
    print(f"\n8 MiB form of 4 M fields to /admin/login: {answer.status_code} {cost}")
    assert answer.status_code == 413
    assert cost.cpu < 0.5 and cost.extra < 64
