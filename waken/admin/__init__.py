"""Blueprint "admin": the owner's HTML forms under /admin (and its admin-only JSON under /api/admin)."""
from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")
# Admin JSON lives under /api, outside the admin prefix: its own blueprint (create_app registers both).
api_bp = Blueprint("admin_api", __name__)


@bp.after_request
@api_bp.after_request
def _no_store(response):
    # Admin pages show tokens and keys: never keep them in a browser or proxy cache.
    response.headers["Cache-Control"] = "no-store"
    return response


from waken.admin import (  # noqa: E402,F401  (attach the routes)
    agent_log,
    app_rules,
    apps,
    connect,
    devices,
    login,
    overview,
    quick_add,
    rules,
    settings,
    tokens,
)
