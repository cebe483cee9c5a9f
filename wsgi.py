"""The WSGI entry point (gunicorn): the app, and in one worker the sweep scheduler."""
from waken import create_app
from waken.scheduler import start_scheduler

app = create_app()
if app.config["SCHEDULER"]:
    start_scheduler(app)
