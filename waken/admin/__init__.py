"""Blueprint "admin": the owner's HTML forms under /admin (and its admin-only JSON under /api/admin)."""
import importlib
import pkgutil

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


# Every module of this package is imported and attaches its routes to the blueprint: a new
# view module needs no line here.
for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")
