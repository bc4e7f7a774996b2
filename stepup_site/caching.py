"""Caching that never shows a stale page.

Every cached page or fragment is stored under the current *content version*, a token
that changes after every committed write to anything a page shows (the catalog, reviews,
votes, comments, members). A write never has to know which pages it touched: the next
read looks under the new token, misses, and renders afresh. Old entries age out.

The token lives where every app server sees it: in Redis in production, shared by all
of them; in the database on the embedded default, whose local-memory cache is private to
each process. It is a fresh random value, not a counter, so two writers committing at
once can never both leave a token that a reader saw before one of the commits.
"""

import hashlib
import json
import pickle
import threading
import uuid
import zlib
from collections import OrderedDict

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.core.cache import caches
from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.http import HttpResponse, QueryDict
from django.urls import Resolver404, resolve
from django.utils import translation
from django.utils.http import urlencode

VERSION_KEY = "content-version"


def _versions():
    return caches[settings.CONTENT_VERSION_CACHE]


def _pages():
    return caches["default"]


def content_version(request):
    """The token, read once per request (one cache or database read).

    Empty when the cache holding it cannot be reached: nothing is then read from or
    stored in the cache for the request, since a write made meanwhile could not have
    changed the token.
    """
    version = getattr(request, "_content_version", None)
    if version is None:
        version = _versions().get(VERSION_KEY)
        if version is None:
            # First read after a flush: whatever was cached before is unreachable anyway.
            _versions().add(VERSION_KEY, uuid.uuid4().hex, timeout=None)
            version = _versions().get(VERSION_KEY)
        request._content_version = version or ""
    return request._content_version


def _new_version():
    _versions().set(VERSION_KEY, uuid.uuid4().hex, timeout=None)


def content_changed():
    """Make every cached page stale.

    In SQLite (the embedded default) the token changes inside the writer's transaction and
    commits with the data. Elsewhere it changes once the transaction commits: a reader that
    saw an earlier token before the commit may have cached what the transaction replaces.
    In Redis it also changes at once, which keeps a transaction's own later reads fresh (a
    test runs in one); in a database table that would hold the row's lock (see
    ContentVersionDatabaseCache), so there it changes after the commit only.
    """
    versions = _versions()
    if getattr(versions, "commits_with_the_data", False):
        _new_version()
        return
    if not getattr(versions, "locks_a_row", False):
        _new_version()
    connection = transaction.get_connection()
    if connection.in_atomic_block and any(
        callback is _new_version for _savepoints, callback, _robust in connection.run_on_commit
    ):
        return  # a transaction writing several rows needs one change at its commit
    transaction.on_commit(_new_version, robust=True)


def caching_enabled():
    return settings.PAGE_CACHE_SECONDS > 0


def versioned_key(request, *parts):
    """A cache key that is only valid for the current content version and secret key.

    The secret key is in it because shared copies hold placeholders derived from it
    (reviews.listing.placeholder): after a key rotation they would never be filled in.
    """
    digest = hashlib.sha256(
        "\x1f".join(str(part) for part in (settings.SECRET_KEY, *parts)).encode()
    ).hexdigest()
    return f"v:{content_version(request)}:{digest}"


class _LocalCopies:
    """The entries this process used last, kept in its memory up to a byte budget.

    Safe with any number of processes because a versioned key never changes meaning: what
    is stored under it is the same everywhere, for ever. A hit saves the round trip to
    Redis and the copy of a whole page over it; only the version is read from there.
    """

    def __init__(self, max_bytes):
        self.max_bytes = max_bytes
        self._entries = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key):
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            self._entries.move_to_end(key)
            return entry[0]

    def set(self, key, value, size):
        if size > self.max_bytes // 4:
            return
        with self._lock:
            if key in self._entries:
                return
            self._entries[key] = (value, size)
            self._bytes += size
            while self._bytes > self.max_bytes:
                _, (_, dropped) = self._entries.popitem(last=False)
                self._bytes -= dropped

    def clear(self):
        with self._lock:
            self._entries.clear()
            self._bytes = 0


_local_copies = _LocalCopies(max_bytes=settings.PAGE_CACHE_LOCAL_BYTES)


def _read(key, *, shared_object):
    local = _local_copies.get(key)
    if local is not None:
        return pickle.loads(local) if shared_object else local
    value = _pages().get(key)
    if value is not None:
        _keep_local(key, value, shared_object=shared_object)
    return value


def _write(request, key, value, *, shared_object):
    if not _may_store(request):
        return
    _pages().set(key, value, settings.PAGE_CACHE_SECONDS)
    _keep_local(key, value, shared_object=shared_object)


def _keep_local(key, value, *, shared_object):
    if shared_object:
        # Kept pickled: each request unpickles its own copy, which it may change.
        value = pickle.dumps(value, pickle.HIGHEST_PROTOCOL)
    _local_copies.set(key, value, _size(value))


def _size(value):
    if isinstance(value, (str, bytes)):
        return len(value)
    if isinstance(value, dict):
        return sum(_size(item) for item in value.values()) + 100
    if isinstance(value, (tuple, list)):
        return sum(_size(item) for item in value) + 100
    return 100


def cached_fragment(request, parts, render, *, mutable=False):
    """`render()`'s result, from the cache while the content has not changed.

    Rendered HTML is shared as it is by the requests of a process; `mutable=True` for a
    value a request could change (a model instance): each then gets its own copy."""
    if not caching_enabled() or not content_version(request):
        return render()
    key = versioned_key(request, *parts)
    fragment = _read(key, shared_object=mutable)
    if fragment is None:
        fragment = render()
        _write(request, key, fragment, shared_object=mutable)
    return fragment


def _on_write(sender, **kwargs):
    update_fields = kwargs.get("update_fields")
    # A sign-in stamps last_login: nothing any page shows.
    if update_fields is not None and set(update_fields) <= {"last_login"}:
        return
    content_changed()


def watch_app_models(app_config):
    """Make any write to the app's models (admin, services, shell) refresh the pages.

    Queryset .update() sends no signal: the services that use one (stored counters) do
    so in the same transaction as a save or delete that does."""
    for model in app_config.get_models():
        uid = f"content-changed:{model._meta.label}"
        post_save.connect(_on_write, sender=model, dispatch_uid=f"{uid}:save")
        post_delete.connect(_on_write, sender=model, dispatch_uid=f"{uid}:delete")
        for field in model._meta.local_many_to_many:
            m2m_changed.connect(
                _on_write, sender=field.remote_field.through, dispatch_uid=f"{uid}:{field.name}"
            )


# The query parameters each page that may be stored reads, by URL name: only these reach
# the view and the cache key (PageQueryMiddleware). A view that starts reading another one
# must be listed here with it, or the parameter never arrives.
PAGE_QUERY_PARAMETERS = {
    "films:home": (),
    "films:title_list": ("kind", "sort"),
    "films:title_detail": ("sort", "after", "before", "page"),
    "films:generated_poster": (),
    "films:person_list": (),
    "films:person_detail": (),
    "films:character_list": (),
    "films:character_detail": (),
    "films:crew_list": (),
    "films:crew_detail": (),
    "films:search": ("q",),
    "accounts:profile": ("page",),
    "reviews:detail": (),
    "reviews:rss": (),
    "reviews:atom": (),
    "reviews:title_rss": (),
    "reviews:title_atom": (),
    "sitemap": ("p",),
    "robots": (),
}


class PageQueryMiddleware:
    """Keep what a stored page's address is made of to what the page reads.

    Otherwise every new query string (`/?utm=<random>`) would render the page again and
    store another copy of it, for anyone to fill the cache with. On a page listed in
    PAGE_QUERY_PARAMETERS, the parameters it does not read are taken out of the request
    before anything sees it, so the view renders (and the caches key) the same page as the
    clean address; the ones it reads are put in one order, each once (the last value, as
    the view would read it). Nothing is stored for a query longer than
    PAGE_CACHE_MAX_QUERY_LENGTH, nor for any query on a page that is not listed.

    Requests under PAGE_CACHE_SKIP_PREFIXES (the account forms with their `next`, the
    admin) and anything but GET and HEAD are left as they are.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if (
            request.META.get("QUERY_STRING")
            and request.method in ("GET", "HEAD")
            and not request.path.startswith(settings.PAGE_CACHE_SKIP_PREFIXES)
        ):
            self._clean(request)
        return self.get_response(request)

    @staticmethod
    def _clean(request):
        try:
            read = PAGE_QUERY_PARAMETERS.get(resolve(request.path_info).view_name)
        except Resolver404:
            read = None
        if read is None:
            request._page_storable = False
            return
        kept = sorted((name, request.GET[name]) for name in set(read) & set(request.GET))
        query = urlencode(kept)
        request.META["QUERY_STRING"] = query
        request.GET = QueryDict(query)
        if len(query) > settings.PAGE_CACHE_MAX_QUERY_LENGTH:
            request._page_storable = False


def _may_store(request):
    """Whether what this request renders may be stored: always for a page's clean address;
    for a query, while the page has fewer than PAGE_CACHE_QUERY_VARIANTS stored under the
    current content version. A parameter a page does read can still take any value
    (`?q=<random>`, `?page=<any number>`): past that many, new ones are rendered and not
    kept, until the next write makes them all stale anyway."""
    storable = getattr(request, "_page_storable", None)
    if storable is None:
        storable = _new_variant_allowed(request)
        request._page_storable = storable
    return storable


def _new_variant_allowed(request):
    query = request.META.get("QUERY_STRING", "")
    if not query:
        return True
    cache = _pages()
    page = (request.get_host(), request.path)
    seen = versioned_key(request, "query-seen", *page, query)
    if cache.get(seen):
        return True  # one of the queries kept for this page
    # Past the limit nothing more is stored for the page, not even a note of the query: a
    # flood of new values then costs one counter per page, whatever it sends.
    counter = versioned_key(request, "query-count", *page)
    cache.add(counter, 0, settings.PAGE_CACHE_SECONDS)
    try:
        count = cache.incr(counter)
    except ValueError:  # expired between the two calls
        count = 1
    if count > settings.PAGE_CACHE_QUERY_VARIANTS:
        return False
    cache.set(seen, True, settings.PAGE_CACHE_SECONDS)
    return True


def _page_request(request):
    """A request a whole stored page may answer: a GET or HEAD outside the skipped
    prefixes, with no message waiting, while the content version can be read."""
    return (
        caching_enabled()
        and request.method in ("GET", "HEAD")
        and "messages" not in request.COOKIES
        and not request.path.startswith(settings.PAGE_CACHE_SKIP_PREFIXES)
        and content_version(request)
    )


def _cacheable_response(response, *, for_one_reader=False):
    cache_control = response.get("Cache-Control", "")
    return (
        response.status_code == 200
        and not response.streaming
        and not response.cookies
        and (for_one_reader or "private" not in cache_control)
        and "no-store" not in cache_control
        and "no-cache" not in cache_control
    )


def _stored(response, *, compressed=False):
    content = zlib.compress(response.content, 1) if compressed else response.content
    return (compressed, content, tuple(response.items()))


def _rebuilt(stored, *, header):
    compressed, content, headers = stored
    response = HttpResponse(zlib.decompress(content) if compressed else content)
    for name, header_value in headers:
        response[name] = header_value
    _say(response, header, "hit")
    return response


def _say(response, header, value):
    """Say what a page cache did, where someone measuring it asks (EXPOSE_CACHE_HEADERS):
    the public is told nothing of the site's insides."""
    if settings.EXPOSE_CACHE_HEADERS:
        response[header] = value


class AnonymousPageCacheMiddleware:
    """Whole pages for visitors who are not signed in, from the shared cache.

    Placed before the session, auth and CSRF middleware so a hit costs a cache lookup and
    little else. Only what is the same for every such visitor is stored: GET and HEAD
    without a session or pending messages, answered 200 with no cookie set (a page with a
    form sets the CSRF cookie, so it is never stored) and nothing marked private.
    """

    HEADER = "X-Page-Cache"

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if caching_enabled() and not request.path.startswith(settings.PAGE_CACHE_SKIP_PREFIXES):
            # Before the view reads anything: a fragment cached under this version must
            # hold data at least as new as the version, never a read from before it.
            content_version(request)
        if not self._cacheable_request(request):
            return self.get_response(request)
        key = versioned_key(
            request,
            "page",
            request.get_host(),
            request.get_full_path(),
            translation.get_language_from_request(request),
        )
        stored = _read(key, shared_object=False)
        if stored is not None:
            return _rebuilt(stored, header=self.HEADER)
        response = self.get_response(request)
        if request.method == "GET" and _cacheable_response(response):
            _write(request, key, _stored(response), shared_object=False)
        _say(response, self.HEADER, "miss")
        return response

    @staticmethod
    def _cacheable_request(request):
        return settings.SESSION_COOKIE_NAME not in request.COOKIES and _page_request(request)


class MemberPageCacheMiddleware:
    """Whole pages for a signed-in member, kept for that member's session alone.

    A member who opens a page again before anything on the site changed gets the page they
    were shown, without loading their account, their review and their votes or writing
    them into the page. The key holds all a page for one member is made of beyond the
    content version and the address: the session, by its key and every value in it (who
    is signed in, with which password hash and session epoch), and the CSRF cookie whose
    token the page's forms carry. Any change to the member, their reviews or votes is a
    write, so a new content version; signing out ends the session, so the key is never
    asked for again.

    Placed after the session, CSRF, auth and message middleware, so that a hit still
    passes through their answers (Vary: Cookie) and never evaluates request.user. Not
    stored: pages with a message, pages that set a cookie or change the session, and
    anything but a 200.
    """

    HEADER = "X-Member-Page-Cache"

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        key = self._key(request)
        if key is None:
            return self.get_response(request)
        stored = _read(key, shared_object=False)
        if stored is not None:
            return _rebuilt(stored, header=self.HEADER)
        response = self.get_response(request)
        if (
            request.method == "GET"
            # Pages only: an image or a feed is the same for everyone, no use kept per session.
            and response.get("Content-Type", "").startswith("text/html")
            and _cacheable_response(response, for_one_reader=True)
            and not request.session.modified
            and not self._csrf_secret_changed(request)
        ):
            # Compressed (fast level, about a fifth of the size): there is one page per
            # member and address, where visitors share one. Inflating costs about 0.15 ms.
            _write(request, key, _stored(response, compressed=True), shared_object=False)
        _say(response, self.HEADER, "miss")
        return response

    @staticmethod
    def _csrf_secret_changed(request):
        # The CSRF middleware sends the cookie again whenever a form used it, mostly only
        # to renew its expiry: the page may be stored unless the secret itself is new.
        secret = request.META.get("CSRF_COOKIE")
        return secret is not None and secret != request.COOKIES.get(settings.CSRF_COOKIE_NAME)

    @staticmethod
    def _key(request):
        if settings.SESSION_COOKIE_NAME not in request.COOKIES or not _page_request(request):
            return None
        session = request.session
        if SESSION_KEY not in session or "_messages" in session:
            return None
        return versioned_key(
            request,
            "member-page",
            session.session_key,
            json.dumps(dict(session.items()), sort_keys=True, default=str),
            request.COOKIES.get(settings.CSRF_COOKIE_NAME, ""),
            request.get_host(),
            request.get_full_path(),
            translation.get_language(),
        )
