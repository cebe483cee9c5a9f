"""POST /api/activity and /api/activity/verify: device reports."""
from waken.ingest import bp
