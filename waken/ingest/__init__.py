"""Blueprint "ingest": the routes that write (device reports, agent activities, OTLP exports)."""
from flask import Blueprint

bp = Blueprint("ingest", __name__)

from waken.ingest import agent_log, otlp, reports  # noqa: E402,F401  (attach the routes)
