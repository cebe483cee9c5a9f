"""What the load processes send: the reporter's real mix, agent records and OTLP log batches."""
import base64
import io
import json
import os
import time

from waken.bench.client import post

OTLP_BATCH = 50      # log records per POST /v1/logs, about what Claude Code's batch exporter sends
TYPES = ("tool_call", "file_read", "file_write", "command", "message", "cron_run", "agent_action")
AGENTS = ("planner", "coder", "reviewer", "ops", "scribe")
APPS = ("Code.exe", "chrome.exe", "Spotify.exe", "WindowsTerminal.exe", "Discord.exe", "explorer.exe")


def cover_data_urls(count, rng):
    """Distinct album covers as a reporter sends them: ~300 px JPEG data URLs."""
    from PIL import Image  # only the load processes draw covers
    urls = []
    for _ in range(count):
        small = Image.frombytes("RGB", (12, 12), rng.randbytes(12 * 12 * 3))
        buf = io.BytesIO()
        small.resize((300, 300), Image.BICUBIC).save(buf, "JPEG", quality=85)
        urls.append("data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode())
    return urls


class Reporter:
    """Reports of one worker's devices: heartbeats that merge, app switches, a new cover every 50."""

    def __init__(self, keys, auth, rng):
        self.keys, self.auth, self.rng = keys, auth, rng
        self.state = {key: {"app": rng.choice(APPS), "battery": rng.randint(40, 100), "doc": 0} for key in keys}
        self.covers = cover_data_urls(12, rng)
        self.n, self.track, self.cover_url = 0, 0, None

    def next(self):
        """(request bytes, whether it carries a new cover)."""
        self.n += 1
        key = self.keys[self.n % len(self.keys)]
        st = self.state[key]
        if self.rng.random() < 0.1:    # ~1 in 10 reports is an app switch: end and start
            st["app"] = self.rng.choice([a for a in APPS if a != st["app"]])
        if self.rng.random() < 0.2:    # a new tab or document now and then
            st["doc"] = self.rng.randrange(7)
        if self.rng.random() < 0.05:
            st["battery"] = max(1, st["battery"] - 1)
        media = {"title": f"Track {self.track}", "singer": "Bench Band", "album": "Loopback",
                 "positionMs": (self.n * 1000) % 215_000, "durationMs": 215_000, "status": "playing"}
        cover = self.n % 50 == 0
        if cover:
            self.track += 1
            media["title"] = f"Track {self.track}"
            media["coverDataUrl"] = self.covers[self.track % len(self.covers)]
        elif self.cover_url:
            media["coverUrl"] = self.cover_url   # the reporter sends the returned URL back
        body = {"generatedHashKey": key, "process_name": st["app"], "device": "BENCH-PC",
                "process_title": f"{st['app']} - document {st['doc']}", "persist_minutes": None,
                "battery_level": st["battery"], "is_charging": False, "device_type": "desktop",
                "push_mode": "realtime", "metadata": {"media": media, "play_source": "spotify"}}
        return post("/api/activity", json.dumps(body).encode(), self.auth), cover

    def answered(self, status, body, cover):
        if cover and status == 200:
            self.cover_url = json.loads(body)["data"]["metadata"]["media"].get("coverUrl")


def agent_request(rng, auth, n):
    kind = rng.choice(TYPES)
    body = {"type": kind, "description": f"{kind} on src/module_{rng.randrange(500)}.py (#{n})",
            "status": "error" if rng.random() < 0.1 else "success", "duration_ms": rng.randrange(20, 5000),
            "tokens_used": rng.randrange(0, 3000), "agent": rng.choice(AGENTS),
            "metadata": {"tool": "Edit", "file": f"src/module_{rng.randrange(500)}.py"}}
    return post("/api/activities", json.dumps(body).encode(), auth)


def otlp_request(rng, auth, n):
    """POST /v1/logs: OTLP_BATCH Claude Code tool_result records as protobuf, each distinct."""
    from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
        ExportLogsServiceRequest,
    )
    message = ExportLogsServiceRequest()
    part = message.resource_logs.add()
    part.resource.attributes.add(key="service.name").value.string_value = "claude-code"
    records, now_ns = part.scope_logs.add().log_records, time.time_ns()
    for i in range(OTLP_BATCH):
        record = records.add(time_unix_nano=now_ns - i * 1000, observed_time_unix_nano=now_ns)
        record.body.string_value = "claude_code.tool_result"
        for key, value in (("event.name", "tool_result"), ("session.id", f"bench-{os.getpid()}"),
                           ("prompt.id", f"p{n}"), ("tool_name", rng.choice(("Bash", "Read", "Edit", "Grep"))),
                           ("success", "true" if rng.random() < 0.9 else "false"),
                           ("duration_ms", str(rng.randrange(5, 3000))), ("decision_source", "config"),
                           ("tool_parameters", json.dumps({"bash_command": f"pytest tests/test_{n}_{i}.py"}))):
            record.attributes.add(key=key).value.string_value = value
    return post("/v1/logs", message.SerializeToString(), auth, content_type="application/x-protobuf")
