"""ASGI entry point: the production server (gunicorn's asgi worker, gunicorn.conf.py).

Heartbeats carrying their study session's token are answered on the event loop, before
Django (cpe/learning/fastpath.py). Every other request goes to Django's WSGI handler, the
same one runserver and the tests use, in a pool of WEB_THREADS threads per process (2 by
default): each thread keeps its own database connection between requests, as under a
threaded WSGI server, where Django's ASGI handler would start a thread, and with it a
connection, for every request.
"""

import os

from a2wsgi import WSGIMiddleware
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cpe.settings")
django_application = get_wsgi_application()

from cpe.learning.fastpath import HeartbeatFastPathASGI  # noqa: E402 (needs Django set up)

application = HeartbeatFastPathASGI(
    WSGIMiddleware(django_application, workers=int(os.environ.get("WEB_THREADS", "2")))
)
