"""Blueprint "query": the routes that read (feeds, streams, pages, media files, API docs)."""
from flask import Blueprint

bp = Blueprint("query", __name__)

from waken.query import agent_log, agent_sessions, docs, feed, health, media_files, pages, reporter  # noqa: E402,F401  (attach the routes)
