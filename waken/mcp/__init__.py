"""Blueprint "mcp": the Model Context Protocol at /mcp, so an agent can log its own actions."""
from flask import Blueprint

bp = Blueprint("mcp", __name__)

from waken.mcp import transport  # noqa: E402,F401  (attach the route)
