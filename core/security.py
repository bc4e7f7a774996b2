"""Who is asking: the client's address, read so that nobody outside can forge it."""

import ipaddress
import logging

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.shortcuts import render
from django.utils.cache import patch_cache_control

from .i18n import path_without_language

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

    X-Forwarded-Proto (SECURE_PROXY_SSL_HEADER) is read on the same terms: only the proxy
    may say the client spoke HTTPS. From any other peer the header is dropped, so a client
    cannot pass for a secure request (and skip the redirect to HTTPS) by sending it.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        peer = _address(request.META.get("REMOTE_ADDR", ""))
        if not (settings.BEHIND_PROXY and _trusted(peer)):
            request.META.pop("HTTP_X_FORWARDED_PROTO", None)
            return self.get_response(request)
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


class CrossOriginResourcePolicyMiddleware:
    """Cross-Origin-Resource-Policy on every response: no other site's page may load what
    this one serves (a page, a poster, an export) into itself."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault(
            "Cross-Origin-Resource-Policy", settings.SECURE_CROSS_ORIGIN_RESOURCE_POLICY
        )
        return response


class PrivatePagesMiddleware:
    """`Cache-Control: private, no-store` on everything personal, so no browser history,
    shared computer or proxy keeps it: every response to a signed-in member (each page
    shows who they are, some their exports or settings) and the account pages, whoever
    asks (their forms and links carry one-time tokens).

    A response a view has marked public (a generated poster) is the same for everyone and
    stays as it is. Placed above the members' page cache, which keeps a member's own pages
    on the server: a page it serves is marked here on its way out like a fresh one.
    """

    PRIVATE_PREFIXES = ("/accounts/", "/admin/")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if "public" in response.get("Cache-Control", ""):
            return response
        if path_without_language(request.path).startswith(self.PRIVATE_PREFIXES) or self._signed_in(
            request
        ):
            patch_cache_control(response, private=True, no_store=True)
        return response

    @staticmethod
    def _signed_in(request):
        # No session cookie, no member: a visitor's session is never loaded for this (nor
        # marked accessed, which would add Vary: Cookie to every public page).
        if settings.SESSION_COOKIE_NAME not in request.COOKIES and not request.session.accessed:
            return False
        return SESSION_KEY in request.session
