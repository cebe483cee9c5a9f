"""Blueprint "query": the routes that read (feeds, streams, pages, media files, API docs)."""
import importlib
import pkgutil

from flask import Blueprint

bp = Blueprint("query", __name__)

# Every module of this package is imported and attaches its routes to the blueprint: a new
# view module needs no line here.
for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")
