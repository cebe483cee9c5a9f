"""POST /v1/logs, /v1/traces and /v1/metrics: OTLP/HTTP exports into the agent activity log.

Errors are answered in OTLP's shape by the app's error handlers (waken.errors), as for every /v1/ path.
"""
from flask import current_app, request

from waken import settings
from waken.edge import limits
from waken.ingest import bp
from waken.ingest.agent_log import authorise_write


@bp.post("/v1/logs")
def otlp_logs():
    """Store OTLP log records (Claude Code's events) as agent activities."""
    return _export("logs", "log record")


@bp.post("/v1/traces")
def otlp_traces():
    """Store OTLP spans (GenAI execute_tool, chat and its kin, agent runs) as agent activities."""
    return _export("traces", "span")


@bp.post("/v1/metrics")
def otlp_metrics():
    """Fill sessions' cost and tokens from Claude Code's usage metrics where their logs do not."""
    return _export("metrics", "data point")


def _export(signal, noun):
    """Token, then a turn at the gate; the body decoded and counted, the token charged per record,
    then the records mapped and stored a chunk per write-lock turn."""
    # protobuf is loaded on the first OTLP request, not at start-up
    from waken.otlp import admission, batch, metrics, wire
    config = current_app.config
    token = authorise_write(charge=False)          # 401 before a byte of the body is read
    encoding = wire.encoding_of(request)           # 415
    with admission.gate().turn():                  # 503 before the body is read when busy
        message, count = wire.read(signal, request, encoding, config["OTLP_MAX_BYTES"], config["OTLP_MAX_RECORDS"])
        if token is not None:
            limits.charge_token(token.id, max(1, count))   # 429: nothing stored
        else:
            limits.charge_address(settings.get("agent_ingest_open_per_minute"), max(1, count))
        if signal == "metrics":
            reasons = metrics.store_all(message, token)
        else:
            reasons = batch.store_all(signal, message, token)
    media = wire.answer_media(request.mimetype)
    body = wire.answer(signal, media, len(reasons), batch.reasons_sentence(reasons, noun))
    return body, 200, {"Content-Type": media}
