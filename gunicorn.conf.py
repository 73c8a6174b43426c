"""gunicorn's settings for production (`gunicorn` reads this file from the working directory
and serves the application it names); the heartbeat benchmark starts the server with
exactly these.

Every value can be changed through the environment, so the service manager, not this file,
fits the server to its machine.
"""

from __future__ import annotations

import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
# Most requests are the players' heartbeats: short, and busy with the CPU (one Redis call
# of a tenth of a millisecond each). A few processes per core keep the cores busy while some
# wait, pages that wait on PostgreSQL among them.
workers = int(os.environ.get("WEB_CONCURRENCY", str(2 * (os.cpu_count() or 1) + 1)))
# An asyncio worker (uvicorn's, cpe/worker.py): a heartbeat is answered on the event loop
# with one Redis call (cpe/learning/fastpath.py), for a fraction of the threaded worker's
# cost per request, which read each request in one thread and handed it to another. Pages
# go to Django in a few threads per process (WEB_THREADS, 2 by default; cpe/asgi.py), enough
# for pages that wait on PostgreSQL: more threads per process only fight over the
# interpreter's lock.
wsgi_app = "cpe.asgi:application"
worker_class = "cpe.worker.Worker"
# The heartbeat flusher runs in a process of its own, gunicorn's dirty worker, restarted by
# gunicorn if it dies; in a web worker it would stall that worker's heartbeats while it
# writes (cpe/learning/flusher.py).
dirty_apps = ["cpe.learning.flusher:HeartbeatFlusher"]
dirty_workers = 1
raw_env = ["HEARTBEAT_FLUSHER=dedicated"]
# The reverse proxy in front keeps connections open to gunicorn between requests.
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "30"))
backlog = int(os.environ.get("GUNICORN_BACKLOG", "4096"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = 30
# Recycle workers now and then, so that a slow leak in a library cannot grow for ever: at the
# busy season's few hundred heartbeats a second per process, every ten minutes or so (a new
# worker costs a second or two of CPU to start, which 20,000 requests made a minute's toll).
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "200000"))
max_requests_jitter = max_requests // 10
# The proxy logs every request; gunicorn logs only errors, to stderr.
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "warning")
# The proxy on the same machine sets X-Forwarded-Proto/-For; trust it only from there.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
