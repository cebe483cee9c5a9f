"""A local HTTP sink that alert channels send to (json:// and ntfy:// pointed at loopback), and helpers to set rules."""
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Sink:
    """An HTTP server on loopback that records every POST; it answers 200, 500, or hangs (mode)."""

    def __init__(self, mode="ok"):
        self.mode, self.received, self.released = mode, [], threading.Event()
        self.arrived = threading.Condition()
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with sink.arrived:
                    sink.received.append({"path": self.path, "body": json.loads(body or b"{}"),
                                          "auth": self.headers.get("Authorization")})
                    sink.arrived.notify_all()
                if sink.mode == "hang":
                    sink.released.wait(30)
                    return
                status = 500 if sink.mode == "fail" else 200
                answer = b'{"error": "sink says no", "code": 500}' if status == 500 else b'{"id": "ok1"}'
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def json_url(self, path="hook"):
        return f"json://127.0.0.1:{self.port}/{path}"

    def ntfy_url(self, topic="waken-topic"):
        return f"ntfy://127.0.0.1:{self.port}/{topic}"

    def wait(self, count, seconds=10):
        """The first `count` messages, once they have arrived (fewer after `seconds`)."""
        with self.arrived:
            self.arrived.wait_for(lambda: len(self.received) >= count, seconds)
            return list(self.received)

    def texts(self):
        """Title and message (json://) or title and message (ntfy://) of each message, joined."""
        return [f"{m['body'].get('title', '')}\n{m['body'].get('message', '')}" for m in self.received]

    def close(self):
        self.released.set()
        self.server.shutdown()
        self.server.server_close()


def rule_form(kind, channel_ids, cooldown=0, enabled=True, **params):
    """The rule form of the Alerts page as a browser posts it."""
    form = {"channel": [str(c) for c in channel_ids], "cooldown_seconds": str(cooldown),
            **{f"param_{k}": str(v) for k, v in params.items()}}
    if enabled:
        form["enabled"] = "true"
    return form
