"""Agent ingest with every rule on and a channel that hangs (the bench's error records fire the errors rule: its
tries hang 5 s each in the scheduler worker), against the same rules with a channel that answers at once; and
against no channel at all, which shows what checking the rules costs."""
import socket
import sqlite3
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from waken.alerts.rules import KINDS
from waken.bench.client import percentile
from waken.bench.load import CLIENTS, ROUNDS, SLICE_SECONDS, run_load


class HangingPeer:
    """A loopback port that accepts connections and reads, but never answers."""

    def __init__(self):
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port, self.held = self.sock.getsockname()[1], []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.held.append(conn)

    def close(self):
        self.sock.close()
        for conn in self.held:
            conn.close()


class _Ok(BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.count += 1
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


class AnsweringPeer:
    """A loopback webhook that takes every alert at once."""

    def __init__(self):
        self.http = ThreadingHTTPServer(("127.0.0.1", 0), _Ok)
        self.http.count = 0
        self.port = self.http.server_address[1]
        threading.Thread(target=self.http.serve_forever, daemon=True).start()

    @property
    def count(self):
        return self.http.count

    def close(self):
        self.http.shutdown()
        self.http.server_close()


def _slice(server, token, keys, url, seconds=SLICE_SECONDS):
    """One slice of agent ingest; with `url`, every rule is on for that channel (removed after, with its rows)."""
    if url:
        # Each slice's conditions are new ones: the earlier slices' cool-downs are forgotten.
        with sqlite3.connect(server.db_path) as conn:
            conn.execute("DELETE FROM alert_state")
        server.cli("alert", "channel", "add", "bench", url)
        for kind in KINDS:
            server.cli("alert", "rule", "set", kind, "--on", "--channel", "bench")
    measured = run_load("agent", server.port, token, keys, seconds, clients=CLIENTS)
    if url:
        server.cli("alert", "channel", "delete", "bench")    # its waiting deliveries too: the next slice starts clean
    return measured


def alert_ingest(server, token, keys):
    """{none, answering, hanging: {rps, p50_ms, p99_ms}, p99_change_pct, rules_p99_change_pct, tries_hung}.

    A first, unmeasured slice with the answering channel lets the scheduler worker load Apprise
    (once per process, before its first alert): every measured slice then sees a warm sender.
    """
    hanging, answering = HangingPeer(), AnsweringPeer()
    urls = {"none": None, "answering": f"json://127.0.0.1:{answering.port}/hook",
            "hanging": f"json://127.0.0.1:{hanging.port}/hook"}
    slices = {name: [] for name in urls}
    try:
        _slice(server, token, keys, urls["answering"], seconds=2 * SLICE_SECONDS + 5)   # the scheduler runs every 5 s
        for _ in range(ROUNDS):
            for name, url in urls.items():
                slices[name].append(_slice(server, token, keys, url))
    finally:
        hanging.close()
        answering.close()
    out = {}
    for name, parts in slices.items():
        times = [t for part in parts for t in part["latencies"]]
        out[name] = {"rps": round(len(times) / (SLICE_SECONDS * ROUNDS), 1), "p50_ms": percentile(times, 50),
                     "p99_ms": percentile(times, 99)}
    out["p99_change_pct"] = round((out["hanging"]["p99_ms"] / out["answering"]["p99_ms"] - 1) * 100, 1)
    out["rules_p99_change_pct"] = round((out["answering"]["p99_ms"] / out["none"]["p99_ms"] - 1) * 100, 1)
    out["tries_hung"], out["answered"] = len(hanging.held), answering.count
    return out
