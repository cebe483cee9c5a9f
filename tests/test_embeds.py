"""GET /embed/now.svg and /embed/now.json: small, self-contained, cached a minute, private where the feed is."""
import base64
import io
import json
import xml.etree.ElementTree as ET

import pytest
from PIL import Image

from tests.support import DEVICE_KEY

SVG = "{http://www.w3.org/2000/svg}"
HOSTILE_TITLES = [
    "<script>alert(1)</script>", "]]><svg onload=alert(1)>", "\" onmouseover=\"alert(1)", "&amp; &lt; &#x3c;",
    "<image href='https://evil.example/x.png'/>", "\x00\x07\x1b[31m\ufffe control", "‮RTL override ☃ 🛌",
    "<!--", "<?xml version='1.0'?>", "x" * 1024, "url(https://evil.example/a.css) @import 'https://evil.example'",
]


def report(client, auth, title="main.py — waken", process="Code", **fields):
    response = client.post("/api/activity", headers=auth, json={
        "generatedHashKey": DEVICE_KEY, "process_name": process, "process_title": title, "device": "Desk",
        "battery_level": 80, **fields})
    assert response.status_code == 200, response.text


def cover_png(size=300):
    image = Image.new("RGB", (size, size))
    image.putdata([((x * 7) % 256, (y * 13) % 256, (x * y) % 256) for y in range(size) for x in range(size)])
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def self_contained(svg_text):
    """Parsed as XML, no script, no event handler, nothing fetched from anywhere."""
    root = ET.fromstring(svg_text)
    assert root.tag == SVG + "svg"
    for node in root.iter():
        assert node.tag.removeprefix(SVG) not in ("script", "foreignObject", "style", "a", "use")
        for name, value in node.attrib.items():
            assert not name.lower().startswith("on"), name
            if name.endswith("href"):
                assert value.startswith("data:image/jpeg;base64,"), value
            elif name != "aria-label":   # the label is text, like the <text> nodes: it fetches nothing
                assert "://" not in value and "url(" not in value, (name, value)
    return root


def test_the_card_draws_name_status_device_app_track_and_inlines_the_cover(client, runner, auth, device):
    runner.invoke(args=["settings", "set", "site_name", "Ada"])
    client.put("/api/status", headers=auth, json={"emoji": "💻", "text": "coding"})
    report(client, auth, metadata={"media": {"title": "Song", "singer": "Band", "coverDataUrl": cover_png()}})
    response = client.get("/embed/now.svg")
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    assert response.headers["Cache-Control"] == "max-age=60" and response.headers["ETag"]
    assert len(response.data) <= 16 * 1024
    root = self_contained(response.get_data(as_text=True))
    text = " ".join(node.text for node in root.iter(SVG + "text"))
    for part in ("Ada", "💻 coding", "Code on Desk", "80%", "main.py — waken", "♪ Song — Band"):
        assert part in text
    [image] = root.iter(SVG + "image")
    assert image.get("href").startswith("data:image/jpeg;base64,")
    again = client.get("/embed/now.svg", headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304 and again.headers["Cache-Control"] == "max-age=60"


def test_options_theme_device_hide_and_width(client, auth, device):
    report(client, auth, metadata={"media": {"title": "Song", "coverDataUrl": cover_png(40)}})
    response = client.get("/embed/now.svg?theme=dark&hide=title,music,battery&width=300&device=desk")
    root = self_contained(response.get_data(as_text=True))
    assert root.get("width") == "300" and "#0d1117" in response.get_data(as_text=True)
    text = " ".join(node.text for node in root.iter(SVG + "text"))
    assert "Code on Desk" in text and "main.py" not in text and "Song" not in text and "80%" not in text
    assert not list(root.iter(SVG + "image"))
    assert "Phone: offline" in client.get("/embed/now.svg?device=Phone").get_data(as_text=True)
    for query in ("theme=pink", "hide=secrets", "width=10", "width=wide"):
        assert client.get("/embed/now.svg?" + query).status_code == 400, query


def test_the_badge_speaks_the_shields_endpoint_schema(client, auth, device):
    body = client.get("/embed/now.json").json
    assert body == {"schemaVersion": 1, "label": "waken", "message": "offline", "color": "lightgrey",
                    "cacheSeconds": 300}
    report(client, auth, metadata={"media": {"title": "Song"}})
    response = client.get("/embed/now.json")
    assert response.json["message"] == "Code on Desk · ♪ Song" and response.json["color"] == "brightgreen"
    assert response.headers["Cache-Control"] == "max-age=60"
    assert client.get("/embed/now.json", headers={"If-None-Match": response.headers["ETag"]}).status_code == 304
    assert client.get("/embed/now.json?hide=music").json["message"] == "Code on Desk"
    client.put("/api/status", headers=auth, json={"emoji": "🛌", "text": "asleep"})
    assert client.get("/embed/now.json").json["message"] == "🛌 asleep"


@pytest.mark.parametrize("title", HOSTILE_TITLES)
def test_hostile_titles_are_escaped_in_both_embeds(client, auth, device, title):
    report(client, auth, title=title, process=title[:200], metadata={"media": {"title": title, "singer": title}})
    svg = client.get("/embed/now.svg")
    assert len(svg.data) <= 16 * 1024
    self_contained(svg.get_data(as_text=True))
    badge = client.get("/embed/now.json")
    assert json.loads(badge.data)["schemaVersion"] == 1 and len(badge.data) <= 16 * 1024


def test_private_mode_masks_and_app_rules_apply_to_embeds(client, runner, auth, device):
    report(client, auth, title="mail from bob@example.com", metadata={"media": {"title": "Secret Song"}})
    runner.invoke(args=["settings", "set", "title_mask_presets", "email"])
    assert "bob@example.com" not in client.get("/embed/now.svg").get_data(as_text=True)
    runner.invoke(args=["app-rule", "add", "Code", "--hide"])
    svg = client.get("/embed/now.svg").get_data(as_text=True)
    assert "Code" not in svg and "online on Desk" in svg
    runner.invoke(args=["settings", "set", "private_mode", "true"])
    client.put("/api/status", headers=auth, json={"text": "away"})
    for path in ("/embed/now.svg", "/embed/now.json"):
        body = client.get(path).get_data(as_text=True)
        assert "Secret Song" not in body and "mail from" not in body and "away" in body
