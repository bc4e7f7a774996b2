"""Who is asking: the client's address, read so that nobody outside can forge it."""

import ipaddress
import logging

from django.conf import settings
from django.shortcuts import render

logger = logging.getLogger(__name__)


def _address(value):
    """An IP address from a header entry ("203.0.113.7", "203.0.113.7:4711", "[2001:db8::1]:443"),
    or None when it is not one."""
    value = value.strip()
    if value.startswith("["):
        value = value[1:].split("]", 1)[0]
    elif value.count(":") == 1:
        value = value.split(":", 1)[0]  # IPv4 with a port
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        return None


def _trusted(address):
    return address is not None and any(address in network for network in settings.TRUSTED_PROXIES)


class ClientAddressMiddleware:
    """Put the client's own address in REMOTE_ADDR, for everything after this middleware.

    Directly on the internet, the socket's peer is the client and X-Forwarded-For is
    whatever the client chose to send: it is ignored. Behind one trusted proxy
    (BEHIND_PROXY, the proxy's address in TRUSTED_PROXIES), the peer is the proxy, which
    appends the address it saw to X-Forwarded-For. Only that last entry is the proxy's word;
    anything before it came from the client and may be forged, so it is never read. A
    request that reaches gunicorn from anywhere else keeps its own address.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if settings.BEHIND_PROXY and _trusted(_address(request.META.get("REMOTE_ADDR", ""))):
            forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
            appended_by_proxy = _address(forwarded.rsplit(",", 1)[-1]) if forwarded else None
            if appended_by_proxy is not None:
                request.META["REMOTE_ADDR"] = str(appended_by_proxy)
            else:
                # Every client would share the proxy's address (and its limits): say so.
                logger.warning("The proxy sent no usable X-Forwarded-For: %r", forwarded)
        return self.get_response(request)


def client_address(request):
    """The client's address (see ClientAddressMiddleware), for rate limits."""
    return request.META.get("REMOTE_ADDR") or "0.0.0.0"


def lockout_address(request):
    """The address sign-in failures are counted against. An IPv6 client usually holds a
    whole /64 and could step through it, so IPv6 is counted by /64 (as the rate limits do)."""
    address = _address(client_address(request))
    if address is None:
        return client_address(request)
    if address.version == 6:
        return str(ipaddress.ip_network(f"{address}/64", strict=False).network_address)
    return str(address)


class RequestSizeLimitMiddleware:
    """Answer 413 before reading a body larger than any form here needs.

    Django caps form fields (DATA_UPLOAD_MAX_MEMORY_SIZE) but streams file parts to disk
    whatever their size: without this, anyone could fill the disk through any form.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > settings.MAX_REQUEST_BYTES:
            return render(
                request,
                "413.html",
                {"limit_mb": settings.MAX_REQUEST_BYTES // (1024 * 1024)},
                status=413,
            )
        return self.get_response(request)
