"""What building the app loads: a new top-level dependency shows here, not first in a worker's memory."""
import subprocess
import sys

# The distributions a worker imports to build the app. Pillow (the first image), apispec (the
# reference) and protobuf (the first OTLP body) load later, when a request needs them. Flask-Babel
# (with babel and pytz) is wired in create_app: every page speaks the visitor's language.
EXPECTED = {
    "babel", "blinker", "click", "flask", "flask_babel", "flask_cors", "flask_sqlalchemy", "flask_wtf", "itsdangerous", "jinja2",
    "markupsafe", "marshmallow", "pytz", "sqlalchemy", "typing_extensions", "waken", "werkzeug", "wtforms",
}

LIST_IMPORTS = """
import sys
import waken
waken.create_app({"INSTANCE_PATH": sys.argv[1], "SECRET_KEY": "x", "SCHEDULER": False})
print(" ".join(sorted({name.split(".")[0] for name in sys.modules})))
"""


def test_building_the_app_loads_only_the_expected_libraries(tmp_path):
    run = subprocess.run([sys.executable, "-c", LIST_IMPORTS, str(tmp_path / "instance")],
                         capture_output=True, text=True, timeout=60, check=True)
    ignored = set(sys.stdlib_module_names) | set(sys.builtin_module_names) | {"cython_runtime"}
    loaded = {name for name in run.stdout.split() if name not in ignored and not name.startswith("_")}
    assert loaded == EXPECTED, f"new: {sorted(loaded - EXPECTED)}, gone: {sorted(EXPECTED - loaded)}"
