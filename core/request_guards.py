"""What a request may carry before any view or database sees it, and where it may send
the visitor next."""

import logging

from django.core.exceptions import BadRequest
from django.db import DataError
from django.urls import get_resolver
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _

logger = logging.getLogger(__name__)

NUL = "\x00"


def safe_next_url(request, default):
    """The request's `next` (posted, else in the query string) when it is a path on this
    site, else `default`."""
    return safe_path(request, request.POST.get("next") or request.GET.get("next"), default)


def safe_path(request, target, default):
    """`target` when it is a path on this site, else `default`.

    Only a path: "welcome" or "-1" is not an address here, and handed to `redirect()` it
    would be looked up as a view name (NoReverseMatch, a 500 after the work was done).
    """
    target = target or ""
    if (
        target.startswith("/")
        and NUL not in target
        and url_has_allowed_host_and_scheme(
            target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        )
    ):
        return target
    return default


def _holds_nul(query_dict):
    return any(
        NUL in key or any(NUL in value for value in values) for key, values in query_dict.lists()
    )


class RequestGuardMiddleware:
    """Bad input is the client's error (400), never the site's (500).

    A NUL character in the path, the query string, the cookies or the form data is refused
    before anything reads it. No browser sends one, and PostgreSQL refuses NUL in any text
    (a DataError wherever the value reaches a query: a member's name in the path, an admin
    filter, a session key). Django's form fields refuse it already; addresses, query
    strings and cookies reach views and libraries with no form in between. Form data is
    checked in `process_view`, after the request size limit has had its say.

    Then, what no check up front can know: a value the database cannot hold in the column
    it is compared with (an integer past 64 bits on SQLite, a year past 9999 in the admin's
    date filter, anything PostgreSQL calls a data exception). Views validate what they
    read themselves; this is the net under the code that is not ours (the admin, its
    filters, django-axes). Logged with the traceback, so a bug of ours still shows.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if (
            NUL in request.path
            or _holds_nul(request.GET)
            or any(NUL in name or NUL in value for name, value in request.COOKIES.items())
        ):
            raise BadRequest(_("The request holds a NUL character."))
        return self.get_response(request)

    def process_view(self, request, view, args, kwargs):
        if request.method == "POST" and _holds_nul(request.POST):
            raise BadRequest(_("The form holds a NUL character."))
        return None

    def process_exception(self, request, exception):
        if not isinstance(exception, OverflowError | DataError):
            return None
        # An error, not a warning: the net also catches a value of our own code that the
        # database refused (a bug to fix), and monitoring must see it.
        logger.error(
            "Bad request: a value out of range for %s", request.path[:200], exc_info=exception
        )
        # The project's own 400 page (handler400 in its urls), as for a view's BadRequest.
        return get_resolver().resolve_error_handler(400)(request, exception)
