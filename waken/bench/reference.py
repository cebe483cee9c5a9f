"""The bench's reference app: bare Flask doing one token lookup and one SQLite upsert per POST.

`make bench` serves it with waken's gunicorn config beside waken and states waken's ingest as a
share of this app's, so the ratio says what waken's own work costs over the least an ingest can do.
"""
import hashlib
import os
import sqlite3
import threading
import time

from flask import Flask, jsonify, request

SCHEMA = """
CREATE TABLE IF NOT EXISTS token (hash TEXT PRIMARY KEY) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS latest (
    key TEXT PRIMARY KEY,
    body TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    reports INTEGER NOT NULL
);
"""
UPSERT = ("INSERT INTO latest (key, body, updated_at, reports) VALUES (?, ?, ?, 1) ON CONFLICT (key) DO UPDATE "
          "SET body = excluded.body, updated_at = excluded.updated_at, reports = reports + 1")


def connect(path):
    """A connection in autocommit mode, so the upsert is one transaction on its own."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    # waken's durability: WAL, synced at checkpoints only; a busy writer is waited for, as in waken.
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "busy_timeout=15000"):
        conn.execute(f"PRAGMA {pragma}")
    return conn


def init_db(path, token):
    """Create the schema and store the SHA-256 of `token`, the one token the app accepts."""
    conn = connect(path)
    conn.executescript(SCHEMA)
    conn.execute("INSERT OR IGNORE INTO token (hash) VALUES (?)", (hashlib.sha256(token.encode()).hexdigest(),))
    conn.close()


def create_app(db_path=None):
    """The app over the database at `db_path` (default: $WAKEN_REFERENCE_DATABASE), made by init_db."""
    app = Flask(__name__)
    path = db_path or os.environ["WAKEN_REFERENCE_DATABASE"]
    local = threading.local()   # one connection per gunicorn thread, opened on its first request

    def db():
        if not hasattr(local, "conn"):
            local.conn = connect(path)
        return local.conn

    def ingest(key_field, status):
        digest = hashlib.sha256(request.headers.get("Authorization", "").removeprefix("Bearer ").encode()).hexdigest()
        if db().execute("SELECT 1 FROM token WHERE hash = ?", (digest,)).fetchone() is None:
            return jsonify(success=False, error="Unknown token."), 401
        body = request.get_json(silent=True)
        if not isinstance(body, dict) or not isinstance(body.get(key_field), str):
            return jsonify(success=False, error=f"{key_field} is required."), 400
        db().execute(UPSERT, (body[key_field], request.get_data(as_text=True), int(time.time() * 1000)))
        return jsonify(success=True, data=body), status

    # The paths and statuses of waken's device report and agent record; rows are keyed by device or agent.
    app.add_url_rule("/api/activity", "report_activity", lambda: ingest("generatedHashKey", 200), methods=["POST"])
    app.add_url_rule("/api/activities", "create_activity", lambda: ingest("agent", 201), methods=["POST"])
    app.add_url_rule("/healthz", "healthz", lambda: {"status": "ok"})
    return app
