"""Agent ingest with an alert channel that hangs and every rule on (the bench's error records fire the errors rule:
its tries hang 5 s each in the scheduler worker), against no channel at all."""
import socket
import threading

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


def _slice(server, token, keys, url):
    """One slice of agent ingest; with `url`, every rule is on for that channel (removed after, with its rows)."""
    if url:
        server.cli("alert", "channel", "add", "bench", url)
        for kind in KINDS:
            server.cli("alert", "rule", "set", kind, "--on", "--channel", "bench")
    measured = run_load("agent", server.port, token, keys, SLICE_SECONDS, clients=CLIENTS)
    if url:
        server.cli("alert", "channel", "delete", "bench")    # its waiting deliveries too: the next slice starts clean
    return measured


def alert_ingest(server, token, keys):
    """{none, hanging: {rps, p50_ms, p99_ms}, p99_change_pct, alerts}: interleaved slices."""
    peer = HangingPeer()
    urls = {"none": None, "hanging": f"json://127.0.0.1:{peer.port}/hook"}
    slices = {name: [] for name in urls}
    try:
        for _ in range(ROUNDS):
            for name, url in urls.items():
                slices[name].append(_slice(server, token, keys, url))
    finally:
        peer.close()
    out = {}
    for name, parts in slices.items():
        times = [t for part in parts for t in part["latencies"]]
        out[name] = {"rps": round(len(times) / (SLICE_SECONDS * ROUNDS), 1), "p50_ms": percentile(times, 50),
                     "p99_ms": percentile(times, 99)}
    out["p99_change_pct"] = round((out["hanging"]["p99_ms"] / out["none"]["p99_ms"] - 1) * 100, 1)
    out["tries_hung"] = len(peer.held)
    return out
