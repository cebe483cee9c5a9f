"""Ingest sent together stays bounded: image reports, hostile JPEGs, open ingest, keys, registration (issue 18)."""
import base64
import io
import struct
import time
import zlib
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceRequest,
)
from PIL import Image

from tests.cost_support import Cost, HealthzProbe, gradients
from tests.limits_support import client_from
from waken.otlp.mapping import log_key, resource_digest

KEY = "wwd-concurrent-ingest-0001"
MIB = 1024 * 1024
pytestmark = pytest.mark.live


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    from tests.support import LiveServer
    server = LiveServer(tmp_path_factory.mktemp("concurrent") / "instance").start()
    token = server.token()
    server.device("Desk", KEY)
    yield server, {"Authorization": f"Bearer {token}"}
    server.stop()


def png(img):
    buffer = io.BytesIO()
    img.save(buffer, "PNG", compress_level=1)
    return buffer.getvalue()


def costly_png(side, noise):
    """A side x side PNG that decodes at full cost and is large on the wire (a noisy corner)."""
    img = gradients("RGB", side)
    img.paste(Image.effect_noise((noise, noise), 100).convert("RGB"), (0, 0))
    return png(img)


def with_text(data, text):
    """The PNG with a tEXt chunk added before IEND: the same pixels under a new content hash."""
    body = b"Comment\0" + text.encode()
    chunk = struct.pack(">I", len(body)) + b"tEXt" + body + struct.pack(">I", zlib.crc32(b"tEXt" + body))
    return data[:-12] + chunk + data[-12:]


class Body:
    """A request body made of shared pieces, sent with a Content-Length and never joined in memory."""

    def __init__(self, *pieces):
        self.pieces, self.at, self.offset = pieces, 0, 0

    def __len__(self):
        return sum(map(len, self.pieces))

    def __iter__(self):
        return iter(self.pieces)

    def read(self, size=-1):
        while self.at < len(self.pieces) and self.offset >= len(self.pieces[self.at]):
            self.at, self.offset = self.at + 1, 0
        if self.at == len(self.pieces):
            return b""
        piece = self.pieces[self.at]
        end = len(piece) if size is None or size < 0 else self.offset + size
        chunk = piece[self.offset:end]
        self.offset += len(chunk)
        return chunk


def image_report_bodies(count):
    """`count` bodies of about 6.6 MB, each with its own 4096x4096 cover and 2048x2048 icon."""
    cover, icon = costly_png(4096, 1400), costly_png(2048, 900)
    # with_text changes only the last bytes, so the bulk of each data URL is one shared piece.
    cover_cut, icon_cut = (len(cover) - 12) // 3 * 3, (len(icon) - 12) // 3 * 3
    cover_start, icon_start = base64.b64encode(cover[:cover_cut]), base64.b64encode(icon[:icon_cut])
    return [Body(b'{"generatedHashKey": "%s", "process_name": "Music %d", "metadata": {"media": {'
                 b'"title": "Song %d", "coverDataUrl": "data:image/png;base64,' % (KEY.encode(), n, n),
                 cover_start, base64.b64encode(with_text(cover, f"c{n}")[cover_cut:]),
                 b'", "appIconDataUrl": "data:image/png;base64,',
                 icon_start, base64.b64encode(with_text(icon, f"i{n}")[icon_cut:]) + b'"}}}')
            for n in range(count)]


def test_sixty_concurrent_image_reports_stay_within_memory(live):
    server, auth = live
    bodies = image_report_bodies(60)
    assert 6 * MIB < len(bodies[0]) < 7 * MIB

    def send(body):
        return requests.post(server.url + "/api/activity", data=body, timeout=120,
                             headers={**auth, "Content-Type": "application/json"})

    with Cost(server) as cost, HealthzProbe(server) as healthz, ThreadPoolExecutor(60) as pool:
        answers = list(pool.map(send, bodies))
    codes = [a.status_code for a in answers]
    print(f"\n60 concurrent 6.6 MB image reports: {sorted(codes)} {cost}; slowest /healthz {healthz.worst:.3f} s")
    assert set(codes) <= {200, 429, 503}, [a.text[:200] for a in answers if a.status_code not in (200, 429, 503)]
    assert 200 in codes
    assert all(a.headers.get("Retry-After", "").isdigit() for a in answers if a.status_code != 200)
    assert cost.peak <= 200
    assert healthz.worst < 1.0
    stored = {a.json()["data"]["id"]: a.json()["data"]["processName"] for a in answers if a.status_code == 200}
    with server.db() as conn:
        rows = dict(conn.execute(f"SELECT id, process_name FROM device_activity WHERE id IN "
                                 f"({','.join('?' * len(stored))})", list(stored)).fetchall())
    assert rows == stored
    for answer in answers:
        if answer.status_code == 200:
            assert "coverUrl" in answer.json()["data"]["metadata"]["media"], answer.json().get("warnings")
    small = requests.post(server.url + "/api/activity", headers=auth, timeout=10,
                          json={"generatedHashKey": KEY, "process_name": "Editor"})
    assert small.status_code == 200


def cmyk_progressive_jpeg(side=4096):
    buffer = io.BytesIO()
    gradients("CMYK", side).save(buffer, "JPEG", progressive=True, quality=90)
    return buffer.getvalue()


def test_a_progressive_cmyk_jpeg_is_held_to_80_mib(live):
    server, auth = live
    data = cmyk_progressive_jpeg()
    url = "data:image/jpeg;base64," + base64.b64encode(data).decode()
    with Cost(server) as cost:
        answer = requests.post(server.url + "/api/activity", headers=auth, timeout=60, json={
            "generatedHashKey": KEY, "process_name": "Photos", "metadata": {"media": {
                "title": "CMYK", "coverDataUrl": url}}})
    print(f"\n4096x4096 progressive CMYK JPEG ({len(data) // 1024} KiB): {answer.status_code} {cost}")
    assert answer.status_code == 200
    body = answer.json()
    assert "coverUrl" in body["data"]["metadata"]["media"] or "coverDataUrl was dropped" in body["warnings"][0]
    assert cost.extra <= 80
    with server.db() as conn:
        assert conn.execute("SELECT process_name FROM device_activity WHERE id = ?",
                            (body["data"]["id"],)).fetchone()[0] == "Photos"


# --- row B7: open agent ingest and idempotency keys -----------------------------------------

def anonymous_record(session, url, key=None, description="anonymous hook"):
    return session.post(url + "/api/activities", timeout=30, headers={"Idempotency-Key": key} if key else {},
                        json={"type": "tool_call", "description": description, "status": "success"})


def test_anonymous_writes_are_limited_per_address(live):
    server, _ = live
    server.cli("settings", "set", "agent_ingest_open", "true")
    try:
        flood = client_from("127.0.0.2")
        with server.db() as conn:
            before = conn.execute("SELECT count(*) FROM agent_activity").fetchone()[0]
        with Cost(server) as cost, HealthzProbe(server) as healthz, ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(lambda _: anonymous_record(flood, server.url), range(400)))
        codes = [a.status_code for a in answers]
        print(f"\n400 anonymous creates from one address: {codes.count(201)} x 201, {codes.count(429)} x 429; "
              f"{cost}; slowest /healthz {healthz.worst:.3f} s")
        assert set(codes) == {201, 429}
        # 60 a minute (the default) at once, then one a second drips back in.
        assert 60 <= codes.count(201) <= 60 + cost.seconds + 1
        assert all(int(a.headers["Retry-After"]) >= 1 for a in answers if a.status_code == 429)
        assert "from your address" in next(a for a in answers if a.status_code == 429).json()["error"]
        with server.db() as conn:
            assert conn.execute("SELECT count(*) FROM agent_activity").fetchone()[0] - before == codes.count(201)
        assert cost.extra < 32 and healthz.worst < 1.0
        assert anonymous_record(client_from("127.0.0.3"), server.url).status_code == 201
        assert anonymous_record(flood, server.url).status_code == 429
    finally:
        server.cli("settings", "set", "agent_ingest_open", "false")


def claude_code_log(session):
    """An OTLP export of one Claude Code tool_result record, and the idempotency key waken gives it."""
    message = ExportLogsServiceRequest()
    part = message.resource_logs.add()
    part.resource.attributes.add(key="service.name").value.string_value = "claude-code"
    record = part.scope_logs.add().log_records.add(time_unix_nano=time.time_ns())
    record.body.string_value = "claude_code.tool_result"
    for key, value in (("event.name", "tool_result"), ("session.id", session), ("tool_name", "Bash")):
        record.attributes.add(key=key).value.string_value = value
    return message.SerializeToString(), log_key(resource_digest(part.resource), record)


def test_an_idempotency_key_belongs_to_its_caller(live):
    server, owner = live
    stranger = {"Authorization": f"Bearer {server.cli('token', 'create', 'stranger', '--scope', 'agents:write').splitlines()[-1]}"}
    server.cli("settings", "set", "agent_ingest_open", "true")
    try:
        anonymous = client_from("127.0.0.4")
        planted = [anonymous_record(anonymous, server.url, "deploy-9", "planted anonymously"),
                   requests.post(server.url + "/api/activities", headers={**stranger, "Idempotency-Key": "deploy-9"},
                                 timeout=10, json={"type": "tool_call", "description": "planted", "status": "success"})]
        assert [a.status_code for a in planted] == [201, 201]
        mine = requests.post(server.url + "/api/activities", headers={**owner, "Idempotency-Key": "deploy-9"},
                             timeout=10, json={"type": "tool_call", "description": "the owner's", "status": "success"})
        assert mine.status_code == 201 and mine.json()["description"] == "the owner's"
        again = requests.post(server.url + "/api/activities", headers={**owner, "Idempotency-Key": "deploy-9"},
                              timeout=10, json={"type": "tool_call", "description": "retry", "status": "success"})
        assert again.status_code == 200 and again.json()["id"] == mine.json()["id"]
        assert again.json()["description"] == "the owner's"
        retry = anonymous_record(anonymous, server.url, "deploy-9", "retry")
        assert retry.json() == {"id": planted[0].json()["id"], "duplicate": True}

        # A stranger's token posts the key an OTLP export of the owner's will carry.
        export, otlp_key = claude_code_log("sess-squat")
        squat = requests.post(server.url + "/api/activities", headers=stranger, timeout=10, json={
            "type": "tool_call", "description": "squatted", "status": "success", "idempotency_key": otlp_key})
        assert squat.status_code == 201
        for _ in range(2):   # the export and its retry
            sent = requests.post(server.url + "/v1/logs", data=export, timeout=10,
                                 headers={**owner, "Content-Type": "application/x-protobuf"})
            assert sent.status_code == 200
        with server.db() as conn:
            rows = conn.execute("SELECT description FROM agent_activity WHERE idempotency_key = ? ORDER BY id",
                                (otlp_key,)).fetchall()
        assert [row[0] for row in rows] == ["squatted", "Bash"]
    finally:
        server.cli("settings", "set", "agent_ingest_open", "false")


# --- row B16: automatic device registration -------------------------------------------------

def register(server, auth, key):
    # Connection: close, because the test keeps the answers, and an answer kept keeps its socket
    # open: 120 of them from one address would meet the server's cap on connections per address.
    return requests.post(server.url + "/api/activity", headers={**auth, "Connection": "close"}, timeout=10,
                         json={"generatedHashKey": key, "process_name": f"App {key[-3:]}"})


def test_auto_registration_stops_at_the_quota_and_the_rate(live):
    server, auth = live
    server.cli("settings", "set", "device_registration", "auto")
    server.cli("settings", "set", "device_registrations_per_hour", "1000")
    try:
        with server.db() as conn:
            existing = conn.execute("SELECT count(*) FROM device").fetchone()[0]
        keys = [f"wwd-quota-{n:04d}" for n in range(120)]
        with ThreadPoolExecutor(4) as pool:
            answers = list(pool.map(lambda key: register(server, auth, key), keys))
        codes = [a.status_code for a in answers]
        assert codes.count(200) == 100 - existing and codes.count(403) == 20 + existing
        assert "device_max is 100" in next(a for a in answers if a.status_code == 403).json()["error"]
        refused = [key for key, answer in zip(keys, answers) if answer.status_code == 403]
        with server.db() as conn:
            assert conn.execute("SELECT count(*) FROM device").fetchone()[0] == 100
            assert conn.execute(f"SELECT count(*) FROM device WHERE hash_key IN ({','.join('?' * len(refused))})",
                                refused).fetchone()[0] == 0

        # The public feed lists the newest 50 live statuses; the page stays small and quick.
        feed = requests.get(server.url + "/api/activity", timeout=10).json()["data"]["activeStatuses"]
        assert len(feed) == 50
        assert [item["updatedAt"] for item in feed] == sorted((item["updatedAt"] for item in feed), reverse=True)
        with Cost(server) as cost:
            page = requests.get(server.url + "/", timeout=10)
        print(f"\nhome page with 100 live devices: {len(page.content) // 1024} KiB, {cost}")
        assert page.status_code == 200 and page.text.count('<article class="card"') == 50

        # The hourly rate per token: a new token may register this many, then 429 until the hour passes.
        server.cli("settings", "set", "device_max", "1000")
        server.cli("settings", "set", "device_registrations_per_hour", "3")
        fresh = {"Authorization": f"Bearer {server.token('fresh')}"}
        codes = [register(server, fresh, f"wwd-rate-{n:04d}").status_code for n in range(5)]
        assert codes == [200, 200, 200, 429, 429]
        late = register(server, fresh, "wwd-rate-late")
        assert late.status_code == 429 and 3000 <= int(late.headers["Retry-After"]) <= 3600
        with server.db() as conn:
            assert conn.execute("SELECT count(*) FROM device WHERE hash_key LIKE 'wwd-rate-%'").fetchone()[0] == 3
    finally:
        for key, value in (("device_registration", "off"), ("device_max", "100"),
                           ("device_registrations_per_hour", "10")):
            server.cli("settings", "set", key, value)
