"""Ingest sent together costs bounded memory: image reports, hostile JPEGs (issue 18, rows B17 and 18)."""
import base64
import io
import struct
import zlib
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from PIL import Image

from tests.cost_support import Cost, HealthzProbe, gradients

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
