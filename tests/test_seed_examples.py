"""The seed document's curl example, run with the real curl binary against a real server."""
import json
import shutil
import subprocess

import pytest

# The seed document's example, verbatim (its indentation restored): the product's contract, kept here
# so the test runs from a clean clone. Only the host, the token and the key change.
CURL_EXAMPLE = """curl -X POST "http://localhost:3000/api/activity" \\
  -H "Authorization: Bearer YOUR_TOKEN" \\
  -H "Content-Type: application/json" \\
  -d '{
    "generatedHashKey": "YOUR_DEVICE_HASH_KEY",
    "device": "MacBook Pro",
    "device_type": "desktop",
    "process_name": "VS Code",
    "process_title": "editing setup-form.tsx",
    "battery_level": 82,
    "is_charging": true,
    "push_mode": "realtime",
    "metadata": {
      "play_source": "manual-test",
      "media": {
        "title": "Example Track",
        "singer": "Example Artist"
      }
    }
  }'"""


@pytest.mark.skipif(shutil.which("curl") is None, reason="the curl binary is not installed")
def test_seed_curl_example_works_verbatim(server):
    token = server.token("curl")
    key = server.device("MacBook Pro")
    command = (CURL_EXAMPLE.replace("http://localhost:3000", server.url)
               .replace("YOUR_TOKEN", token).replace("YOUR_DEVICE_HASH_KEY", key))
    # Run by a shell, as a user pastes it; -sS and -w only add a status line to the output.
    result = subprocess.run(["sh", "-c", command + ' -sS -w "\\n%{http_code}"'],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    body, status = result.stdout.rsplit("\n", 1)
    assert status == "200", body
    answer = json.loads(body)
    assert answer["success"] is True
    data = answer["data"]
    assert key not in body
    assert (data["device"], data["deviceType"], data["processName"], data["processTitle"], data["pushMode"]) == (
        "MacBook Pro", "desktop", "VS Code", "editing setup-form.tsx", "realtime")

    with server.db() as conn:
        row = conn.execute("SELECT a.* FROM device_activity a JOIN device d ON d.id = a.device_id "
                           "WHERE d.hash_key = ? AND a.ended_at IS NULL", (key,)).fetchone()
    assert row["id"] == data["id"] and row["process_name"] == "VS Code"
    meta = json.loads(row["metadata"])
    assert meta["deviceBatteryPercent"] == 82
    assert meta["deviceBatteryCharging"] is True
    assert meta["play_source"] == "manual-test"
    assert meta["media"] == {"title": "Example Track", "singer": "Example Artist"}
    assert data["metadata"] == meta
