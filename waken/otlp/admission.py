"""Admission for OTLP batches: how many a process reads, decodes, maps and stores at once."""
from flask import current_app

from waken.admission import app_gate
from waken.errors import Busy

WAIT_SECONDS = 10     # the longest a batch waits for its turn before it is told to come back
RETRY_AFTER = 2       # seconds; a full batch takes well under that on a Pi


def _busy():
    return Busy("The server is busy with other OTLP exports; try again in a moment.", retry_after=RETRY_AFTER, code="busy.otlp")


def gate():
    """This process's gate for OTLP batches: running ones, and a few waiting with their bodies unread."""
    config = current_app.config
    return app_gate(current_app, "waken.otlp_gate", config["OTLP_BATCHES_AT_ONCE"], _busy,
                    waiting=config["OTLP_BATCHES_WAITING"], wait_seconds=WAIT_SECONDS)
