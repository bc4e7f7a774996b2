"""The site's URLs plus one view with a bug, for the 500 page's test."""

from django.urls import path

from stepup_site.urls import handler400, handler403, handler500, urlpatterns  # noqa: F401


def broken(request):
    raise RuntimeError("a bug")


urlpatterns = [path("broken/", broken), *urlpatterns]
