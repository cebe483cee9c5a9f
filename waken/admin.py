"""Blueprint "admin": the owner's HTML forms under /admin."""
from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")
