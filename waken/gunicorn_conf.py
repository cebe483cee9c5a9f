"""gunicorn settings for `make run`, the tests and the benchmark alike."""
import os

bind = f"{os.environ.get('WAKEN_HOST', '0.0.0.0')}:{os.environ.get('WAKEN_PORT', '8000')}"
# gthread: each SSE stream parks one thread, not one process, so open streams
# (capped by sse_max_streams) never take the threads that serve reports. Two
# processes use both cores of a Raspberry Pi despite the GIL. waken's subclass reads
# each request header in the event loop first, so clients that stall mid-header
# hold no thread and are closed after HEADER_TIMEOUT seconds.
worker_class = "waken.gunicorn_worker.HeaderFirstWorker"
workers = int(os.environ.get("WAKEN_WORKERS", "2"))
threads = int(os.environ.get("WAKEN_THREADS", "48"))
keepalive = 5
graceful_timeout = 5
errorlog = "-"
loglevel = os.environ.get("WAKEN_LOG_LEVEL", "info")
# No access log by default: approval links carry a device key in their query.
accesslog = os.environ.get("WAKEN_ACCESS_LOG") or None
# Several waken servers (tests, the benchmark) may run on one machine; a shared
# control socket in ~/.gunicorn would collide, and nothing here uses it.
control_socket_disable = True
# gunicorn would believe X-Forwarded-Proto from loopback on its own; waken decides
# which proxy headers count (WAKEN_TRUSTED_PROXIES, through Werkzeug's ProxyFix).
forwarded_allow_ips = ""
