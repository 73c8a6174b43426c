"""WSGI entry point (gunicorn cpe.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cpe.settings")
application = get_wsgi_application()
