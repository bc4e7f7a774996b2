"""The ASGI entry point, for an ASGI server such as uvicorn. Production runs gunicorn
through WSGI (stepup_site/wsgi.py); nothing here is asynchronous yet."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "stepup_site.settings")
application = get_asgi_application()
