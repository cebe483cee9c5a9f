"""gunicorn settings for `make run`, the tests and the benchmark alike."""
import os
import sys

from waken.server import memory

bind = f"{os.environ.get('WAKEN_HOST', '0.0.0.0')}:{os.environ.get('WAKEN_PORT', '8000')}"
# gthread: each SSE stream parks one thread, not one process, so open streams
# (capped by sse_max_streams) never take the threads that serve reports. Two
# processes use both cores of a Raspberry Pi despite the GIL. waken's subclass reads
# each request header, and a small body, in the event loop first, so clients that stall
# hold no thread and are closed after 10 seconds; it also caps connections per address
# (WAKEN_CONNECTIONS_PER_ADDRESS) and bounds body reads (WAKEN_BODY_TIMEOUT).
worker_class = "waken.server.worker.HeaderFirstWorker"
workers = int(os.environ.get("WAKEN_WORKERS", "2"))
threads = int(os.environ.get("WAKEN_THREADS", "48"))
# Connections one worker holds at once (gunicorn's default is 1,000). Idle and slow ones cost
# a descriptor and a few KB each; at the ceiling the oldest unfinished request makes room,
# so a flood of stalled sockets never stops accepts. The worker raises its open-file limit
# to fit, up to the hard limit.
worker_connections = int(os.environ.get("WAKEN_WORKER_CONNECTIONS", "4096"))
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


SWITCH_INTERVAL = 0.001   # seconds; Python's default is 0.005


def post_fork(server, worker):
    """Keep a worker's threads to two malloc arenas, and let them take turns on the GIL sooner.

    glibc gives each thread that finds the arena busy an arena of its own, up to eight
    per core, and memory freed in one stays there: a worker with dozens of threads ended
    a benchmark run ~20 MB above its resting size. Two arenas cost no measurable speed
    here (the GIL already serialises most allocation). Other C libraries lack mallopt:
    nothing to tune there.
    """
    memory.cap_arenas(2)
    # A request that waits on SQLite or a socket gives up the GIL dozens of times, and each
    # time waits up to a switch interval for a thread busy in Python (an OTLP batch being
    # mapped) to hand it back: at 5 ms an honest report waited ~0.5 s behind a burst of big
    # exports, at 1 ms ~0.25 s (tests/test_concurrent_attacks.py).
    sys.setswitchinterval(SWITCH_INTERVAL)
