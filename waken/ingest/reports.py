"""POST /api/activity and /api/activity/verify: what a device is doing now."""
from flask import jsonify

from waken import db
from waken.devices import reports
from waken.edge import limits
from waken.errors import error_body
from waken.ingest import bp
from waken.media.report_images import image_report_slot, prepare_images
from waken.payload import parse, parse_small
from waken.schemas.reports import dump_activity_item, report_loader, verify_schema


def _pending(device):
    body = error_body("This device is waiting for approval in the admin panel.", "device.pending_approval",
                      {"device": device["name"]}, pending=True, approvalUrl=reports.approval_url(device))
    return jsonify(body), 202


@bp.post("/api/activity")
def report_activity():
    """Store a device report: merge into its current activity or start a new one."""
    token = limits.charged_token("report")   # before the body is read: no token, no parsing
    with image_report_slot():   # before the body is read: a large one may carry images
        report = parse(report_loader, code="activity.validation_failed")
        images = prepare_images(report)
        # images.metadata replaces the report's own, whose data URLs are freed before the write lock.
        report.pop("metadata", None)
    with db.write():
        outcome = reports.submit_report(report, token, images)
    if outcome.pending:
        return _pending(outcome.device)
    body = {"success": True, "data": dump_activity_item(outcome.activity)}
    if outcome.warnings:
        body["warnings"] = outcome.warnings
    return body


@bp.post("/api/activity/verify")
def verify_device():
    """Check a token and device key for a reporter's onboarding; stores no activity."""
    token = limits.charged_token("report")
    probe = parse_small(verify_schema, code="activity.validation_failed")
    with db.write():
        device = reports.verify_device(probe, token)
    if device["status"] == "pending":
        return _pending(device)
    return {"success": True, "data": {
        "tokenValid": True, "approved": True, "deviceStatus": device["status"],
        "generatedHashKey": device["hash_key"], "displayName": device["name"]}}
