"""App records: the page, and the admin-only JSON export under /api/admin."""
from flask import render_template
from marshmallow import Schema, fields

from waken import settings
from waken.admin import api_bp, bp
from waken.admin.login import api_login_required, login_required
from waken.devices.app_records import app_groups
from waken.schemas.fields import IsoTime
from waken.timeutil import now


class AppRecordSchema(Schema):
    appName = fields.String(attribute="process_name")
    titles = fields.List(fields.String())
    lastSeenAt = IsoTime(attribute="last_seen_at")


class AppsExportSchema(Schema):
    version = fields.Integer(dump_default=1)
    exportedAt = IsoTime(attribute="exported_at")
    groups = fields.Dict(keys=fields.String(), values=fields.List(fields.Nested(AppRecordSchema)))


apps_export_schema = AppsExportSchema()


@bp.get("/apps")
@login_required
def apps():
    """Apps seen in reports, for choosing rules and for export."""
    return render_template("admin/apps.html", groups=app_groups(),
                           recording=settings.get("save_app_records"))


@api_bp.get("/api/admin/activity/apps-export")
@api_login_required
def export_apps():
    """Every app record as JSON, grouped pc / mobile."""
    body = apps_export_schema.dump({"exported_at": now(), "groups": app_groups()})
    return {"success": True, "data": body}
