"""The site's URLs plus views that fail in each way, and uploaded files served, for the test
that every kind of response carries the security headers."""

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import OperationalError
from django.urls import path, re_path
from django.views.static import serve

from stepup_site.urls import handler400, handler403, handler500, urlpatterns  # noqa: F401


def broken(request):
    raise RuntimeError("a bug")


def database_down(request):
    raise OperationalError("connection to server at 127.0.0.1, port 5432 failed: refused")


def forbidden(request):
    raise PermissionDenied


def media(request, path):
    # MEDIA_ROOT is each test's own folder: read when asked, not at import.
    return serve(request, path, document_root=settings.MEDIA_ROOT)


urlpatterns = [
    path("broken/", broken),
    path("database-down/", database_down),
    path("forbidden/", forbidden),
    re_path(r"^media/(?P<path>.*)$", media),
    *urlpatterns,
]
