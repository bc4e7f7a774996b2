"""Who is asking: the client's address, read so that nobody outside can forge it."""

import ipaddress

from django.conf import settings


def _address(value):
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return None


class ClientAddressMiddleware:
    """Put the client's own address in REMOTE_ADDR, for everything after this middleware.

    Directly on the internet, the socket's peer is the client and X-Forwarded-For is
    whatever the client chose to send: it is ignored. Behind one trusted proxy
    (BEHIND_PROXY), the peer is the proxy, which appends the address it saw to
    X-Forwarded-For. Only that last entry is the proxy's word; anything before it came
    from the client and may be forged, so it is never read.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if settings.BEHIND_PROXY:
            forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
            appended_by_proxy = _address(forwarded.rsplit(",", 1)[-1]) if forwarded else None
            if appended_by_proxy:
                request.META["REMOTE_ADDR"] = appended_by_proxy
        return self.get_response(request)


def client_address(request):
    """The client's address (see ClientAddressMiddleware), for rate limits and lockouts."""
    return request.META.get("REMOTE_ADDR") or "0.0.0.0"
