"""The site's answers when something goes wrong, in its own look."""

import logging
import math
import sys

from axes.handlers.proxy import AxesProxyHandler
from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, HttpResponseBadRequest, JsonResponse
from django.shortcuts import render
from django.template import loader
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views import defaults
from django.views.decorators.csrf import requires_csrf_token

from core.ratelimits import RateLimited

logger = logging.getLogger(__name__)

RETRY_AFTER_DATABASE_SECONDS = 30
# PostgreSQL's error classes for "cannot be reached or cannot take more right now":
# connection exceptions (08), insufficient resources (53), operator intervention such as a
# shutdown or restart (57). A deadlock or a serialization failure is a bug to fix: a 500.
UNAVAILABLE_SQLSTATE_CLASSES = {"08", "53", "57"}


def database_unavailable(error):
    """True for an error that means the database is down or too busy, not a bug.

    SQLite's errors ("unable to open database file", "database is locked" past the busy
    timeout) and psycopg's pool timeout carry no SQLSTATE, and all mean exactly that.
    """
    if not isinstance(error, (OperationalError, InterfaceError)):
        return False
    sqlstate = getattr(error.__cause__, "sqlstate", None)
    return sqlstate is None or sqlstate[:2] in UNAVAILABLE_SQLSTATE_CLASSES


def bad_request(request, exception):
    """400, rendered without the request: what is wrong may be the request itself (a host
    that is not allowed), and the page reading it again would fail the same way."""
    return HttpResponseBadRequest(loader.get_template("400.html").render())


@requires_csrf_token
def permission_denied(request, exception):
    """403, or 429 when the refusal is a rate limit."""
    if isinstance(exception, RateLimited):
        minutes = max(1, math.ceil(exception.retry_after / 60))
        if request.get_preferred_type(["text/html", "application/json"]) == "application/json":
            # The page's own scripts (helpful.js) show this rather than posting again.
            message = ngettext(
                "Slow down a little: try again in about %(minutes)s minute.",
                "Slow down a little: try again in about %(minutes)s minutes.",
                minutes,
            ) % {"minutes": minutes}
            response = JsonResponse({"error": message}, status=429)
        else:
            response = render(request, "429.html", {"retry_after_minutes": minutes}, status=429)
        response["Retry-After"] = str(exception.retry_after)
        return response
    return defaults.permission_denied(request, exception)


@requires_csrf_token
def server_error(request):
    """500, or a 503 saying "try again shortly" when the database is unreachable.

    Rendered without the request: the page must not need the session, the member or
    anything else from the database that has just failed.
    """
    if database_unavailable(sys.exc_info()[1]):
        try:
            content = loader.get_template("503.html").render()
        except Exception:  # the page must come out whatever else is broken
            logger.exception("The 503 page could not be rendered")
            content = _("The site is briefly unavailable. Please try again in a minute.")
        response = HttpResponse(content, status=503)
        response["Retry-After"] = str(RETRY_AFTER_DATABASE_SECONDS)
        return response
    return defaults.server_error(request)


def signin_locked_out(request, original_response=None, credentials=None):
    """django-axes' answer once an account at an address, or an address, has failed too
    often: 429, saying how long the pause has left to run."""
    # None: the pause ended between axes' check and this page; try again at once.
    seconds_left = AxesProxyHandler.get_implementation().seconds_left(request, credentials) or 1
    response = render(
        request,
        "registration/locked_out.html",
        {"cooloff_minutes": max(1, math.ceil(seconds_left / 60))},
        status=429,
    )
    response["Retry-After"] = str(seconds_left)
    return response
