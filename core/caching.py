"""Caching that never shows a stale page to whoever wrote, and a write costs only the
pages it changed.

Each cached page or fragment is stored under the versions of its *scopes*, which the
project's scope map names (settings.PAGE_CACHE_SCOPES): `title:<pk>` for a title's page,
`member:<pk>`, `home`, ...
A write makes new versions of the scopes that show what it changed; the next read of those
pages looks under the new versions, misses, and renders afresh. Other pages stay warm.

The versions live where every app server sees them: in Redis in production, shared by all
of them; in the database on the embedded default, whose local-memory cache is private to
each process. Each is a fresh random value, not a counter, so two writers committing at
once can never both leave a version that a reader saw before one of the commits.

Whole pages for visitors are kept by address with the versions they were rendered under.
When one is stale, one request renders it again (under a short lock) while the others are
answered with the stale copy at once. Members are never served a stale copy.
"""

import functools
import hashlib
import threading
import uuid
from collections import OrderedDict
from importlib import import_module

from django.conf import settings
from django.core.cache import caches
from django.db import connections, router, transaction
from django.db.models.signals import m2m_changed, post_save, pre_delete
from django.http import HttpResponse, QueryDict
from django.urls import Resolver404, resolve
from django.utils import translation
from django.utils.http import urlencode

from .i18n import path_language, path_without_language

# Every page's scope: what a write to anything the scope map does not name makes stale.
SITE = "site"

# Long enough for any render; a worker that dies holding it only delays the next render.
RENDER_LOCK_SECONDS = 10


class _CacheVersions:
    """The scope versions in a shared cache (Redis), beside the pages. Changed at once,
    which keeps a transaction's own later reads fresh, and again at its commit."""

    commits_with_the_data = False
    locks_a_row = False

    def __init__(self, cache):
        self.cache = cache

    def get_many(self, names):
        found = self.cache.get_many([f"scope:{name}" for name in names])
        return {key.removeprefix("scope:"): version for key, version in found.items()}

    def add(self, name, version):
        self.cache.add(f"scope:{name}", version, timeout=None)

    def set_many(self, versions):
        self.cache.set_many({f"scope:{n}": v for n, v in versions.items()}, timeout=None)


class _DatabaseVersions:
    """The scope versions as rows of core.ContentVersion, in the site's own database.

    On SQLite a writer changes them inside its own transaction: they commit with the data
    they stand for, or roll back with it, and since SQLite's writers take turns anyway
    (IMMEDIATE transactions) that costs no waiting. Changing them is one statement.
    """

    # Changed inside a transaction, a row stays locked to its commit. On PostgreSQL every
    # writer would then hold it while taking other row locks in its own order (a review,
    # then its title; or the title first), and two writers could deadlock: there it is
    # changed after the commit instead (content_changed).
    locks_a_row = True

    @property
    def commits_with_the_data(self):
        from .models import ContentVersion

        return connections[router.db_for_write(ContentVersion)].vendor == "sqlite"

    def get_many(self, names):
        from .models import ContentVersion

        return dict(ContentVersion.objects.filter(scope__in=names).values_list("scope", "version"))

    def add(self, name, version):
        from .models import ContentVersion

        ContentVersion.objects.bulk_create(
            [ContentVersion(scope=name, version=version)], ignore_conflicts=True
        )

    def set_many(self, versions):
        from .models import ContentVersion

        ContentVersion.objects.bulk_create(
            [ContentVersion(scope=name, version=version) for name, version in versions.items()],
            update_conflicts=True,
            unique_fields=["scope"],
            update_fields=["version"],
        )


_database_versions = _DatabaseVersions()


def _versions():
    if settings.CONTENT_VERSION_CACHE:
        return _CacheVersions(caches[settings.CONTENT_VERSION_CACHE])
    return _database_versions


@functools.cache
def _scope_map_named(module_path):
    return import_module(module_path)


def _scope_map():
    """The project's map of what each page shows and what each write changes."""
    return _scope_map_named(settings.PAGE_CACHE_SCOPES)


def _pages():
    return caches["default"]


def scope_versions(request, scopes):
    """The versions of `scopes` and of "site", read once per request in one cache call
    (one query when they live in the database). An empty version: the cache holding them
    cannot be reached, and nothing is read from or stored in the cache under it."""
    known = request.__dict__.setdefault("_scope_versions", {})
    names = sorted({SITE, *scopes})
    if missing := [name for name in names if name not in known]:
        versions = _versions()
        found = versions.get_many(missing)
        if unset := [name for name in missing if name not in found]:
            # Never written (or dropped in a flush): what was stored under it is unreachable.
            for name in unset:
                versions.add(name, uuid.uuid4().hex)
            found.update(versions.get_many(unset))
        known.update({name: found.get(name) or "" for name in missing})
    return tuple(known[name] for name in names)


def _bump(scopes):
    _versions().set_many({name: uuid.uuid4().hex for name in scopes})


class _AtCommit:
    """The scopes a transaction changed: new versions once, at its commit."""

    def __init__(self):
        self.scopes = set()
        self.done = False

    def __call__(self):
        self.done = True
        _bump(self.scopes)


def content_changed(*scopes):
    """Make the pages of `scopes` stale (every page when none is named).

    In SQLite (the embedded default) the versions change inside the writer's transaction
    and commit with the data. Elsewhere they change once the transaction commits: a reader
    that saw an earlier version before the commit may have cached what the transaction
    replaces. In Redis they also change at once, which keeps a transaction's own later
    reads fresh (a test runs in one); in a database table that would hold the rows' locks
    (see ContentVersionDatabaseCache), so there they change after the commit only.
    """
    scopes = set(scopes) or {SITE}
    versions = _versions()
    connection = transaction.get_connection()
    if versions.commits_with_the_data or not connection.in_atomic_block:
        _bump(scopes)
        return
    if not versions.locks_a_row:
        _bump(scopes)
    # Not one already run: a test running the callbacks of its one transaction by hand
    # (django_capture_on_commit_callbacks) leaves them listed.
    pending = next(
        (
            callback
            for _s, callback, _r in connection.run_on_commit
            if isinstance(callback, _AtCommit) and not callback.done
        ),
        None,
    )
    if pending is None:  # a transaction writing several rows: one change at its commit
        pending = _AtCommit()
        transaction.on_commit(pending, robust=True)
    pending.scopes |= scopes


def caching_enabled():
    return settings.PAGE_CACHE_SECONDS > 0


def _key(request, scopes, *parts):
    """A key only valid for the current versions of `scopes`, the secret key (shared
    copies hold slots derived from it: core.slots) and the active language (a fragment is
    HTML in one language, its words and the catalog's texts alike); None when the versions
    cannot be read."""
    versions = scope_versions(request, scopes)
    if not all(versions):
        return None
    language = translation.get_language()
    joined = "\x1f".join(str(part) for part in (settings.SECRET_KEY, language, *versions, *parts))
    return f"v:{hashlib.sha256(joined.encode()).hexdigest()}"


def _write(request, key, value):
    if _may_store(request):
        _pages().set(key, value, settings.PAGE_CACHE_SECONDS)


def cached_fragment(request, parts, render, *, scopes):
    """`render()`'s result, from the cache while none of `scopes` has changed."""
    (fragment,) = cached_fragments(request, {"": parts}, lambda _missing: [render()], scopes=scopes)
    return fragment


def cached_fragments(request, items, render_many, *, scopes=()):
    """The fragment of each of `items` (a mapping of item to the parts naming what it
    shows), from the cache while its parts and `scopes` are unchanged: one cache read for
    all of them; render_many(items) renders those missing, together, and one write keeps them."""
    keys = {}
    if caching_enabled():
        keys = {item: _key(request, scopes, *parts) for item, parts in items.items()}
    local = settings.PAGE_CACHE_LOCAL_BYTES
    found = {}
    if local:
        found = {key: value for key in keys.values() if (value := local_copies.get(key))}
    if wanted := [key for key in keys.values() if key and key not in found]:
        shared = _pages().get_many(wanted)
        if local:
            for key, value in shared.items():
                local_copies.set(key, value)
        found |= shared
    missing = [item for item in items if keys.get(item) not in found]
    rendered = dict(zip(missing, render_many(missing) if missing else (), strict=True))
    if keys and rendered and _may_store(request):
        stored = {keys[item]: fragment for item, fragment in rendered.items() if keys[item]}
        _pages().set_many(stored, settings.PAGE_CACHE_SECONDS)
        if local:
            for key, value in stored.items():
                local_copies.set(key, value)
    return [rendered[item] if item in rendered else found[keys[item]] for item in items]


def _on_write(sender, instance, created=False, update_fields=None, **kwargs):
    # A sign-in stamps last_login: nothing any page shows.
    if update_fields is not None and set(update_fields) <= {"last_login"}:
        return
    content_changed(
        *_scope_map().write_scopes(instance, created=created, update_fields=update_fields)
    )


def _on_m2m(sender, instance, action, model, pk_set, **kwargs):
    if action.startswith("post_") or action == "pre_clear":
        content_changed(*_scope_map().m2m_scopes(instance, model, pk_set))


def watch_app_models(app_config):
    """Make any write to the app's models (admin, services, shell) refresh the pages that
    show it (the project's scope map, settings.PAGE_CACHE_SCOPES). Before a deletion: what it
    is linked to is read then.

    Queryset .update() sends no signal: the services that use one (stored counters) do
    so in the same transaction as a save or delete that does."""
    for model in app_config.get_models():
        uid = f"content-changed:{model._meta.label}"
        post_save.connect(_on_write, sender=model, dispatch_uid=f"{uid}:save")
        pre_delete.connect(_on_write, sender=model, dispatch_uid=f"{uid}:delete")
        for field in model._meta.local_many_to_many:
            m2m_changed.connect(
                _on_m2m, sender=field.remote_field.through, dispatch_uid=f"{uid}:{field.name}"
            )


class PageQueryMiddleware:
    """Keep what a stored page's address is made of to what the page reads.

    Otherwise every new query string (`/?utm=<random>`) would render the page again and
    store another copy of it, for anyone to fill the cache with. On a page listed in
    PAGE_QUERY_PARAMETERS (in the scope map), the parameters it does not read are taken out
    of the request before anything sees it, so the view renders (and the caches key) the
    same page as the clean address; the ones it reads are put in one order, each once (the
    last value, as the view would read it). Nothing is stored for a query longer than
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
            and not path_without_language(request.path).startswith(
                settings.PAGE_CACHE_SKIP_PREFIXES
            )
        ):
            self._clean(request)
        return self.get_response(request)

    @staticmethod
    def _clean(request):
        try:
            read = _scope_map().PAGE_QUERY_PARAMETERS.get(resolve(request.path_info).view_name)
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
    current versions of its scopes. A parameter a page does read can still take any value
    (`?q=<random>`, `?page=<any number>`): past that many, new ones are rendered and not
    kept, until the next write to the page makes them all stale anyway."""
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
    scopes = page_scopes(request) or ()
    seen = _key(request, scopes, "query-seen", *page, query)
    if seen is None:
        return False
    if cache.get(seen):
        return True  # one of the queries kept for this page
    # Past the limit nothing more is stored for the page, not even a note of the query: a
    # flood of new values then costs one counter per page, whatever it sends.
    counter = _key(request, scopes, "query-count", *page)
    cache.add(counter, 0, settings.PAGE_CACHE_SECONDS)
    try:
        count = cache.incr(counter)
    except ValueError:  # expired between the two calls
        count = 1
    if count > settings.PAGE_CACHE_QUERY_VARIANTS:
        return False
    cache.set(seen, True, settings.PAGE_CACHE_SECONDS)
    return True


def page_scopes(request):
    """The scopes of the page asked for (None: a page never stored whole), once a request."""
    if not hasattr(request, "_page_scopes"):
        try:
            match = resolve(request.path_info)
        except Resolver404:
            request._page_scopes = None
        else:
            request._page_scopes = _scope_map().page_scopes(match.view_name, match.kwargs)
    return request._page_scopes


def _page_request(request):
    """A request a whole stored page may answer: a GET or HEAD outside the skipped
    prefixes, with no message waiting."""
    return (
        caching_enabled()
        and request.method in ("GET", "HEAD")
        and "messages" not in request.COOKIES
        and not path_without_language(request.path).startswith(settings.PAGE_CACHE_SKIP_PREFIXES)
    )


def _cacheable_response(response):
    cache_control = response.get("Cache-Control", "")
    return (
        response.status_code == 200
        and not response.streaming
        and not response.cookies
        and "private" not in cache_control
        and "no-store" not in cache_control
        and "no-cache" not in cache_control
    )


def _stored(response):
    return (response.content, tuple(response.items()))


def _rebuilt(stored, *, header, said="hit"):
    content, headers = stored
    response = HttpResponse(content)
    for name, header_value in headers:
        response[name] = header_value
    _say(response, header, said)
    return response


def _say(response, header, value):
    """Say what a page cache did, where someone measuring it asks (EXPOSE_CACHE_HEADERS):
    the public is told nothing of the site's insides."""
    if settings.EXPOSE_CACHE_HEADERS:
        response[header] = value


class _LocalCopies:
    """What this process read or stored in the shared cache last, kept in its own memory up
    to a byte budget (PAGE_CACHE_LOCAL_BYTES; with Redis only: without it the page cache
    already is the process's memory), so a hit reads a few versions from Redis, not the
    whole page or fragment. Safe without any invalidation: a fragment's key holds the
    versions it was rendered under, and a visitor's page carries them and is used only
    while they are the current ones."""

    def __init__(self):
        self._entries = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key):
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
            return entry and entry[0]

    def set(self, key, value):
        size = _size(value) + 256
        budget = settings.PAGE_CACHE_LOCAL_BYTES
        if size > budget // 4:
            return
        with self._lock:
            if key in self._entries:
                self._bytes -= self._entries.pop(key)[1]
            self._entries[key] = (value, size)
            self._bytes += size
            while self._bytes > budget:
                _key, (_value, dropped) = self._entries.popitem(last=False)
                self._bytes -= dropped

    def clear(self):
        with self._lock:
            self._entries.clear()
            self._bytes = 0


def _size(value):
    """Roughly the bytes of a cached value: its text, which is nearly all of it."""
    if isinstance(value, str | bytes):
        return len(value)
    if isinstance(value, dict):
        return sum(_size(item) for item in value.values())
    if isinstance(value, tuple | list):
        return sum(_size(item) for item in value)
    return 64


local_copies = _LocalCopies()


class AnonymousPageCacheMiddleware:
    """Whole pages for visitors who are not signed in, from the shared cache.

    Placed before the session, auth and CSRF middleware so a hit costs two cache reads
    (the page, then the versions of its scopes) and little else. Only what is the same for
    every such visitor is stored: GET and HEAD without a session or pending messages,
    answered 200 with no cookie set (a page with a form sets the CSRF cookie, so it is
    never stored) and nothing marked private.

    A page is kept by its address with the scopes and versions it was rendered under. A
    stale one is rendered again by one request at a time (RENDER_LOCK_SECONDS); the others
    meanwhile get the stale copy at once ("stale"), never waiting on the render.
    """

    HEADER = "X-Page-Cache"

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not self._cacheable_request(request):
            return self.get_response(request)
        # Not versioned: the versions are in what is stored. The secret key is, as in _key.
        parts = (settings.SECRET_KEY, request.get_host(), request.get_full_path())
        # The address says the language (core.i18n): one copy whatever the visitor prefers.
        parts += (path_language(request.path_info),)
        key = "page:" + hashlib.sha256("\x1f".join(parts).encode()).hexdigest()
        if settings.PAGE_CACHE_LOCAL_BYTES and (local := local_copies.get(key)) is not None:
            scopes, versions, stored = local
            if scope_versions(request, scopes) == versions:
                return _rebuilt(stored, header=self.HEADER)
        kept = _pages().get(key)
        if kept is None:
            return self._render(request, key, kept)
        scopes, versions, stored = kept
        current = scope_versions(request, scopes)
        if current == versions:
            if settings.PAGE_CACHE_LOCAL_BYTES:
                local_copies.set(key, kept)
            return _rebuilt(stored, header=self.HEADER)
        if not all(current):
            return self.get_response(request)  # the versions cannot be read: no cache
        lock = f"{key}:rendering"
        if not _pages().add(lock, True, RENDER_LOCK_SECONDS):
            return _rebuilt(stored, header=self.HEADER, said="stale")
        try:
            return self._render(request, key, kept)
        finally:
            _pages().delete(lock)

    def _render(self, request, key, kept):
        # Read before the view reads anything: what is stored under these versions must
        # hold data at least as new as they are, never a read from before a write.
        scopes = page_scopes(request)
        versions = scope_versions(request, scopes) if scopes is not None else ()
        response = self.get_response(request)
        if (
            all(versions)
            and scopes is not None
            and request.method == "GET"
            and _cacheable_response(response)
        ):
            kept = (scopes, versions, _stored(response))
            _write(request, key, kept)
            if settings.PAGE_CACHE_LOCAL_BYTES and _may_store(request):
                local_copies.set(key, kept)
        elif kept is not None:
            _pages().delete(key)  # gone or changed in kind (a title renamed away): not stale
        _say(response, self.HEADER, "miss")
        return response

    @staticmethod
    def _cacheable_request(request):
        return settings.SESSION_COOKIE_NAME not in request.COOKIES and _page_request(request)
