"""GET /healthz: cheap liveness, database read and disk write check."""
from waken import db, disk
from waken.errors import ApiError
from waken.query import bp


@bp.get("/healthz")
def healthz():
    """200 when the process answers, the database reads and writes are not failing; else 503 saying which."""
    try:
        db.value("SELECT 1")
    except Exception as err:  # any database failure means "not healthy"
        raise ApiError(503, "The database cannot be read.", code="health.database_unreadable") from err
    # No write here: /healthz is called often and benchmarked. A failure a write met lately,
    # or the kernel's word on the folder (read-only, full), tells without one.
    failing = disk.writes_failing()
    if failing is not None:
        raise ApiError(503, disk.health_sentence(failing), writes="failing", reason=failing, code="health.writes_failing")
    return {"status": "ok"}
