"""waken: what am I doing right now, and what have my agents been doing."""
import os

# Nothing is imported at module level: gunicorn's master reads waken.gunicorn_conf,
# which imports this package, and the master must stay small (it never serves a
# request). The blueprints, extensions and their libraries load in create_app, in
# the workers.


def create_app(config=None):
    """Build the application: config layers, instance folder, extensions, blueprints."""
    from flask import Flask

    from waken import admin, cli, db, errors, i18n, ingest, mcp, query, sweeps
    from waken.admin.commands import announce_setup
    from waken.admin.display import admin_duration, admin_time
    from waken.config import finalize
    from waken.edge import cors, security

    config = dict(config or {})
    instance = config.pop("INSTANCE_PATH", None) or os.environ.get("WAKEN_INSTANCE_PATH")
    app = Flask(__name__, instance_path=os.path.abspath(instance) if instance else None,
                instance_relative_config=True)
    app.config.from_object("waken.config")
    app.config.from_pyfile("config.py", silent=True)
    app.config.from_prefixed_env("WAKEN")
    app.config.update(config)
    finalize(app)

    db.init_app(app)
    errors.init_app(app)       # answers in the audience's shape (the API paths: waken.edge.paths)
    cli.init_app(app)
    sweeps.init_app(app)
    security.init_app(app)     # CSRF on forms, headers, session cookie, trusted proxies
    cors.init_app(app)
    i18n.init_app(app)         # the interface's language: the language setting or Accept-Language

    app.before_request(announce_setup)
    app.add_template_filter(admin_time)
    app.add_template_filter(admin_duration)

    app.register_blueprint(ingest.bp)
    app.register_blueprint(query.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(admin.api_bp)
    app.register_blueprint(mcp.bp)
    return app
