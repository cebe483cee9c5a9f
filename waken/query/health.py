"""GET /healthz: cheap liveness and database check."""
from waken import db
from waken.errors import ApiError
from waken.query import bp


@bp.get("/healthz")
def healthz():
    """200 when the process answers and the database reads."""
    try:
        db.value("SELECT 1")
    except Exception as err:  # any database failure means "not healthy"
        raise ApiError(503, "The database cannot be read.") from err
    return {"status": "ok"}
