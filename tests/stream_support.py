"""Reading the agent log's SSE stream in tests: one event block parsed, a live stream read in a thread."""
import json
import threading
import time

import requests


def parse(block):
    """(id, JSON data) of one SSE block; (None, comment) for a comment."""
    lines = [line for line in block.strip("\n").split("\n") if not line.startswith("retry:")]
    if lines[0].startswith(":"):
        return None, lines[0]
    fields = dict(line.split(": ", 1) for line in lines)
    assert set(fields) == {"id", "data"}, block     # unnamed events, as the dashboard expects
    return int(fields["id"]), json.loads(fields["data"])


class SseReader(threading.Thread):
    """Reads a live stream into a list of (id, data), in arrival order."""

    def __init__(self, url, token, last_event_id=None):
        super().__init__(daemon=True)
        headers = {"Authorization": f"Bearer {token}"}
        if last_event_id is not None:
            headers["Last-Event-ID"] = str(last_event_id)
        self.response = requests.get(url + "/api/activities/stream", headers=headers, stream=True,
                                     timeout=(5, 10))
        assert self.response.status_code == 200
        self.events = []
        self.connected = threading.Event()
        self.start()

    def run(self):
        block = []
        try:
            for line in self.response.iter_lines(decode_unicode=True):
                if line:
                    block.append(line)
                    continue
                if block and not block[0].startswith(":"):
                    event = parse("\n".join(block))
                    self.events.append(event)
                    self.connected.set()
                block = []
        except (requests.ConnectionError, AttributeError):
            pass        # closed by the test

    def new(self):
        return [data["activity"] for _, data in self.events if data["type"] == "new"]

    def wait_for(self, count, seconds=30):
        deadline = time.monotonic() + seconds
        while len(self.new()) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.new()

    def close(self):
        self.response.close()
