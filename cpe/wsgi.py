"""WSGI entry point (runserver, or any WSGI server; production runs cpe.asgi under gunicorn)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cpe.settings")
django_application = get_wsgi_application()

# Heartbeats carrying their study session's token are answered before Django's middleware
# (cpe/learning/fastpath.py); every other request goes to Django.
from cpe.learning.fastpath import HeartbeatFastPath  # noqa: E402 (needs Django set up)

application = HeartbeatFastPath(django_application)
