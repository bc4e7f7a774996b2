"""The WSGI entry point production serves: `gunicorn stepup_site.wsgi -c
stepup_site/gunicorn.conf.py` (the Makefile's bench, the deployment notes in README.md)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "stepup_site.settings")
application = get_wsgi_application()
