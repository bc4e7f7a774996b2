"""Rate limits on writes and sign-ups, counted in the shared cache (django-ratelimit)."""

from functools import wraps

from django.conf import settings
from django_ratelimit.core import get_usage
from django_ratelimit.exceptions import Ratelimited


class RateLimited(Ratelimited):
    """A limit was reached; the 429 page says when to try again."""

    def __init__(self, retry_after):
        super().__init__()
        self.retry_after = max(1, int(retry_after))


def _rate_of(name):
    # Read at each request, so a changed setting (or a test's override) applies at once.
    return lambda group, request: settings.RATE_LIMITS[name]


def rate_limited(name, *, key="user_or_ip"):
    """Count each POST to the view against settings.RATE_LIMITS[name], per member (or per
    client address for visitors); past the limit the view is not run and the answer is 429.

    Only POSTs count: showing a form is not a write.
    """

    def decorator(view):
        @wraps(view)
        def limited_view(request, *args, **kwargs):
            usage = get_usage(
                request,
                group=f"stepup:{name}",
                key=key,
                rate=_rate_of(name),
                method=["POST"],
                increment=True,
            )
            if usage is not None and usage["should_limit"]:
                raise RateLimited(retry_after=usage["time_left"])
            return view(request, *args, **kwargs)

        # For the test that checks every view that writes is limited.
        limited_view.rate_limits = (*getattr(view, "rate_limits", ()), name)
        return limited_view

    return decorator


def posted_email(group, request):
    """The email address a form was sent for, folded, as the key of a per-address limit."""
    return request.POST.get("email", "").strip().lower()
