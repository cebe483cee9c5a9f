"""Nothing a client can store breaks a page: generated metadata through the API, then every page."""
import json
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.admin_support import Admin, create_admin
from tests.support import Clock, make_app
from waken import db
from waken.auth.tokens import create_token
from waken.devices.registry import create_device

KEY = "wwd-stored-values-0001"

# Extreme instants and numbers a client might send where the feed expects times or lengths.
INSTANTS = ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "0001-01-01", "9999-12-31",
            "1970-01-01T00:00:00Z", "2026-05-01T11:59:00Z", "not a date", ""]
NUMBERS = [0, -1, 1, 2**31, 2**53 + 1, 2**63 - 1, 2**63, -(2**63), 10**30, 1e308, -1e308, 5e-324, 0.5]
json_leaf = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(10**30), max_value=10**30),
                      st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=40),
                      st.sampled_from(INSTANTS), st.sampled_from(NUMBERS))
json_value = st.recursive(json_leaf, lambda children: st.one_of(
    st.lists(children, max_size=4), st.dictionaries(st.text(max_size=12), children, max_size=4)), max_leaves=12)
anything = st.one_of(json_value, st.sampled_from(INSTANTS), st.sampled_from(NUMBERS))

MEDIA_KEYS = ["title", "singer", "artist", "album", "status", "isPlaying", "isPaused", "positionMs",
              "elapsedMs", "currentMs", "progressMs", "durationMs", "lengthMs", "totalMs", "coverUrl",
              "coverDataUrl", "appIconUrl", "iconUrl"]
timestamps = st.one_of(anything, st.fixed_dictionaries({}, optional={"start": anything, "end": anything}))
media = st.one_of(anything, st.fixed_dictionaries(
    {"title": st.one_of(st.text(min_size=1, max_size=20), anything)},
    optional={**{key: anything for key in MEDIA_KEYS if key != "title"}, "timestamps": timestamps}))
metadata = st.fixed_dictionaries({}, optional={
    "media": media, "play_source": anything, "play_source_name": anything,
    "deviceBatteryPercent": anything, "deviceBatteryCharging": anything,
    "extra": json_value})

PAGES = ["/", "/api/activity", "/api/activity?limit=200", "/api/activities", "/api/activities/export",
         "/api/activities/stats", "/admin/", "/admin/agents", "/admin/devices", "/admin/apps",
         "/api/admin/activity/apps-export"]
STREAMS = ["/api/activity/stream", "/api/activities/stream"]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """An app with a token, a device and a signed-in admin, shared by every example."""
    clock = Clock(datetime(2026, 5, 1, 12, 0, tzinfo=UTC))
    app = make_app(tmp_path_factory.mktemp("stored") / "instance", CLOCK=clock,
                   SSE_POLL_SECONDS=0.01, SSE_KEEPALIVE_SECONDS=0.05)
    with app.app_context(), db.write():
        _, plaintext = create_token("stored values")
        create_device("Desk", key=KEY)
    create_admin(app)
    admin = Admin(app.test_client()).login()
    return app, clock, {"Authorization": f"Bearer {plaintext}"}, admin.client


def first_event(client, path, headers):
    """The first data event of a live stream, opened in process and closed again."""
    response = client.get(path, headers=headers, buffered=False)
    assert response.status_code == 200, (path, response.status_code)
    chunks = iter(response.response)
    try:
        for _ in range(50):
            block = next(chunks).decode()
            if "data: " in block:
                return json.loads(block.split("data: ", 1)[1].split("\n", 1)[0])
        raise AssertionError(f"{path} sent no data event")
    finally:
        response.close()


@settings(max_examples=60, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(meta=metadata, agent_meta=json_value, title=anything)
def test_no_stored_value_breaks_a_page(site, meta, agent_meta, title):
    app, clock, auth, admin = site
    clock.advance(seconds=7)
    report = client_of(app).post("/api/activity", headers=auth, json={
        "generatedHashKey": KEY, "process_name": f"app-{clock.now.second}", "metadata": meta})
    assert report.status_code in (200, 400, 413), report.text
    if report.status_code == 200:
        assert report.get_json()["success"] is True
    agent = client_of(app).post("/api/activities", headers=auth, json={
        "type": "tool_call", "description": "generated", "status": "success",
        "metadata": {"value": agent_meta, "title": title}})
    assert agent.status_code in (201, 400, 413), agent.text

    for path in PAGES:
        response = admin.get(path, headers=auth)
        assert response.status_code == 200, (path, response.status_code, response.text[:300])
    assert "activeStatuses" in first_event(admin, STREAMS[0], auth)["data"]
    first_event(admin, STREAMS[1], auth)


def client_of(app):
    return app.test_client()


@pytest.mark.parametrize("start", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", 10**30, -5])
def test_a_timestamp_of_year_1_or_9999_leaves_every_page_working(site, start):
    app, clock, auth, admin = site
    clock.advance(seconds=11)
    stored = client_of(app).post("/api/activity", headers=auth, json={
        "generatedHashKey": KEY, "process_name": "Music",
        "metadata": {"media": {"title": "Song", "timestamps": {"start": start, "end": start}}}})
    assert stored.status_code == 200
    feed = client_of(app).get("/api/activity")
    assert feed.status_code == 200
    playing = feed.get_json()["data"]["activeStatuses"][0]["nowPlaying"]
    # Shown as a track without a time line: an instant no datetime can hold is no instant.
    assert playing["title"] == "Song"
    assert playing["startMs"] is None and playing["endMs"] is None
    for path in PAGES:
        assert admin.get(path, headers=auth).status_code == 200, path
