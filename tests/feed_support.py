"""The device feed as the feed tests drive it: a report posted, the feed read, a song playing."""
from datetime import UTC, datetime

START = datetime(2026, 5, 1, 12, 0, 0, tzinfo=UTC)
START_MS = int(START.timestamp() * 1000)
PLAYING = {"title": "Song", "singer": "Singer", "status": "playing", "positionMs": 83000, "durationMs": 244000}


def report(client, auth, key, **fields):
    """POST /api/activity for the device `key`, which must succeed; the answer's data."""
    body = {"generatedHashKey": key, "process_name": "Code", **fields}
    response = client.post("/api/activity", json=body, headers=auth)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["data"]


def feed(client, query=""):
    """GET /api/activity, which must succeed; the answer's data."""
    response = client.get("/api/activity" + query)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["data"]
