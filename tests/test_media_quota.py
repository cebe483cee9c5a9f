"""media_max_mb: unreferenced images make room first; a full store drops the image, never the report."""
import base64
import io
import os
import random

import requests
from PIL import Image

from tests.support import DEVICE_KEY

LIMIT = 1024 * 1024   # media_max_mb = 1


def _noise_cover(seed):
    """A 512 px PNG of noise: about 140 KB once waken has re-encoded it."""
    rng = random.Random(seed)
    img = Image.frombytes("RGB", (512, 512), rng.randbytes(512 * 512 * 3))
    buffer = io.BytesIO()
    img.save(buffer, "PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def _stored_bytes(server):
    media = server.instance / "media"
    return sum(entry.stat().st_size for entry in media.rglob("*") if entry.is_file())


def test_media_quota_evicts_unreferenced_images_then_drops_new_ones(start_server):
    server = start_server(env={"WAKEN_MEDIA_QUOTA_GRACE_SECONDS": "0"})
    server.cli("settings", "set", "media_max_mb", "1")
    server.cli("settings", "set", "device_registration", "auto")
    token = server.token()
    server.device("Desk", DEVICE_KEY)
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"

    def report(key, seed, title):
        return session.post(server.url + "/api/activity", timeout=30, json={
            "generatedHashKey": key, "process_name": "Music",
            "metadata": {"media": {"title": title, "coverDataUrl": _noise_cover(seed)}}})

    # One device plays ten tracks: each new cover replaces the last, which nothing references any more.
    covers = []
    for n in range(10):
        answer = report(DEVICE_KEY, n, f"Song {n}")
        assert answer.status_code == 200 and "warnings" not in answer.json()
        covers.append(answer.json()["data"]["metadata"]["media"]["coverUrl"])
        assert _stored_bytes(server) <= LIMIT
    assert requests.get(covers[-1], timeout=10).status_code == 200
    assert requests.get(covers[0], timeout=10).status_code == 404   # the oldest unreferenced went first

    # Other devices each keep their cover in use, until the store is full of referenced images.
    dropped = None
    for n in range(1, 12):
        answer = report(f"wwd-quota-{n:04d}-0a1b2c3d", 100 + n, "Live")
        assert answer.status_code == 200
        assert _stored_bytes(server) <= LIMIT
        if "warnings" in answer.json():
            dropped = answer.json()
            break
    assert dropped is not None, "a 1 MB store took more than eleven 140 KB covers"
    assert dropped["warnings"] == ["coverDataUrl was dropped: the media store is full (media_max_mb is 1)."]
    assert "coverUrl" not in dropped["data"]["metadata"]["media"]
    # The report itself is stored and shown; every cover still in use still loads.
    feed = requests.get(server.url + "/api/activity", timeout=10).json()["data"]
    shown = {item["device"]: item for item in feed["activeStatuses"]}
    assert shown[dropped["data"]["device"]]["metadata"]["media"]["title"] == "Live"
    in_use = {item["metadata"]["media"]["coverUrl"] for item in shown.values()
              if item["metadata"]["media"].get("coverUrl")}
    assert all(requests.get(url, timeout=10).status_code == 200 for url in in_use)
    # Nothing unreferenced was kept while a new image was refused.
    assert len(in_use) == len(os.listdir(server.instance / "media" / "cover"))
