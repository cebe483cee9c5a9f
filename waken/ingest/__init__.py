"""Blueprint "ingest": the routes that write (device reports, agent activities, OTLP exports)."""
import importlib
import pkgutil

from flask import Blueprint

bp = Blueprint("ingest", __name__)

# Every module of this package is imported and attaches its routes to the blueprint: a new
# view module needs no line here.
for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")
