"""Configuration defaults; instance/config.py and WAKEN_* variables override them."""
import os
import secrets
from datetime import datetime, timezone

DATABASE = "waken.sqlite"          # relative to the instance folder
MEDIA_DIR = "media"                # relative to the instance folder
PUBLIC_URL = ""                    # base for absolute URLs; the public_url setting wins when set
SECRET_KEY = None                  # generated once and kept in the instance folder
MAX_CONTENT_LENGTH = 8 * 1024 * 1024   # whole request body; covers arrive as big data URLs
SMALL_BODY_MAX_BYTES = 128 * 1024  # bodies that never carry images: agent records, verify
OTLP_MAX_BYTES = 4 * 1024 * 1024     # one OTLP request body, and the most its gzip may inflate to
OTLP_MAX_RECORDS = 2000            # log records or spans in one OTLP export (the SDKs batch 512)
OTLP_BATCHES_AT_ONCE = 1           # OTLP exports a worker process reads, decodes and stores at once ...
OTLP_BATCHES_WAITING = 4           # ... and how many more wait for that turn; beyond, 503 at once
OTLP_RECORDS_PER_COMMIT = 100      # records stored per write-lock turn, so other writers never wait long
METADATA_MAX_BYTES = 64 * 1024     # device/agent metadata JSON after images are extracted
IMAGE_MAX_BYTES = 4 * 1024 * 1024  # one decoded image
IMAGE_MAX_PIXELS = 4096 * 4096     # refused on the header, before decoding; a cover needs far fewer
IMAGE_REPORTS_AT_ONCE = 1          # report bodies over IMAGE_REPORT_BYTES read and decoded at once, per process ...
IMAGE_REPORT_BYTES = 64 * 1024     # ... beyond them: 503 before the body is read; smaller bodies never wait
EXPORTS_AT_ONCE = 1                # agent-log CSV downloads a worker process streams at once; beyond, 503 at once
MEDIA_QUOTA_GRACE_SECONDS = 120    # an unreferenced image this young is never evicted for room
SCHEDULER = True                   # run the sweeps in-process (wsgi.py starts them)
SWEEP_EXPIRY_SECONDS = 30          # how often open activities that went stale are ended
SWEEP_RETENTION_SECONDS = 3600     # how often rows past retention and orphaned media go
ALERT_SECONDS = 5                  # how often the scheduler worker checks the time rules and sends alerts
ALERT_TIMEOUT_SECONDS = 5          # one try at a channel: connect and read timeouts
ALERT_RETRY_SECONDS = 30           # back-off after a failed try, doubled each time (at most an hour) ...
ALERT_MAX_TRIES = 8                # ... until this many tries; then the delivery is dead
ALERT_RETENTION_DAYS = 30          # sent and dead deliveries are kept this long
AGENT_CLOCK_SKEW_SECONDS = 5       # how far in the future an agent timestamp may be
SSE_POLL_SECONDS = 1.0             # how often a process checks for news for its open streams
SSE_KEEPALIVE_SECONDS = 15         # comment line on an idle stream, so proxies keep it open
LOGIN_MAX_FAILURES = 10            # wrong passwords or setup codes from one address ...
LOGIN_LOCKOUT_MINUTES = 15         # ... within this window before logins answer 429
SESSION_COOKIE_SAMESITE = "Lax"    # admin sessions; security.py never lets it be empty
WTF_CSRF_TIME_LIMIT = None         # a form's CSRF token is valid as long as the session that holds it
TRUSTED_PROXIES = 0                # proxy hops whose X-Forwarded-For/-Proto/-Host are believed
CLOCK = None                       # tests inject a callable returning an aware UTC datetime


def finalize(app):
    """Resolve instance-relative paths and make sure a secret key exists."""
    os.makedirs(app.instance_path, exist_ok=True)
    cfg = app.config
    cfg["DATABASE"] = os.path.join(app.instance_path, cfg["DATABASE"])
    cfg["MEDIA_DIR"] = os.path.join(app.instance_path, cfg["MEDIA_DIR"])
    cfg["CLOCK"] = cfg["CLOCK"] or (lambda: datetime.now(timezone.utc))
    if not cfg["SECRET_KEY"]:
        cfg["SECRET_KEY"] = stored_secret(os.path.join(app.instance_path, "secret_key"))


def stored_secret(path, generate=lambda: secrets.token_hex(32)):
    """The secret kept in path, created once with generate() if missing."""
    # Written whole to a private temp file and linked into place, so concurrent
    # workers never read a half-written secret and all end up with the same one.
    if not os.path.exists(path):
        tmp = f"{path}.{os.getpid()}.{secrets.token_hex(4)}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(generate())
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            os.unlink(tmp)
    with open(path) as f:
        return f.read().strip()
