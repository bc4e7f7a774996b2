import importlib
import os
import shutil
import signal
import socket
import tempfile
from pathlib import Path
from unittest import mock
from urllib.parse import urlparse

import pytest
from django.core.management import call_command

from tools.browser import CHROMIUM

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


_static_root = pytest.StashKey[Path]()


def pytest_configure(config):
    # Password hashing is deliberately slow; tests create hundreds of accounts.
    from django.conf import settings

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # The suite's own collected static files, never the production folder beside manage.py
    # (a checkout that also serves the site must not have its files replaced by a test run).
    settings.STATIC_ROOT = Path(tempfile.mkdtemp(prefix="stepup-test-static-"))
    config.stash[_static_root] = settings.STATIC_ROOT


def pytest_unconfigure(config):
    static_root = config.stash.get(_static_root, None)
    if static_root is not None:
        shutil.rmtree(static_root, ignore_errors=True)


# Fixtures that start a server or a browser: every test using one is slow.
SLOW_FIXTURES = {"live_server", "playwright_browser", "page"}


# First, so that `-m "not slow"` (pytest's own hook) sees the slow marks added here.
@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    """Tests marked database("postgresql") belong to the PostgreSQL pass of .ci/run only
    (and database("sqlite") to the SQLite pass): in the other pass they are deselected, not
    skipped, so a skip always means something could not run.

    Browser tests, and any test served by a live server, are marked slow."""
    for item in items:
        if item.get_closest_marker("browser") or SLOW_FIXTURES & set(item.fixturenames):
            item.add_marker(pytest.mark.slow)

    from django.db import connection

    elsewhere = [
        item
        for item in items
        if (marker := item.get_closest_marker("database")) and connection.vendor not in marker.args
    ]
    if elsewhere:
        config.hook.pytest_deselected(items=elsewhere)
        items[:] = [item for item in items if item not in elsewhere]


def skip_or_fail(reason: str):
    """Skip loudly on a developer's machine; under CI=true a test that cannot run is a failure."""
    if IN_CI:
        pytest.fail(f"CI=true and {reason}", pytrace=False)
    message = f"SKIPPED LOUDLY: {reason}"
    print(f"\n!!! {message}")
    pytest.skip(message)


@pytest.fixture(scope="session", autouse=True)
def collected_static_files():
    """Tests run with DEBUG off, so pages need the hashed static files production serves."""
    call_command("collectstatic", "--noinput", verbosity=0)


@pytest.fixture(scope="session", autouse=True)
def static_files_scanned_once(collected_static_files):
    """WhiteNoise reads the size and headers of every collected file when its middleware
    starts, which each new test client does: that was a third of the suite's time. The
    files stay as the session's collectstatic left them, so each scan is made once (per
    folder and WhiteNoise settings) and what it found is handed to every later start."""
    from django.conf import settings
    from whitenoise.base import WhiteNoise

    scanned = {}
    scan = WhiteNoise.update_files_dictionary

    def update_files_dictionary(self, root, prefix):
        configuration = sorted(
            (name, repr(getattr(settings, name)))
            for name in dir(settings)
            if name.startswith("WHITENOISE_")
        )
        key = (type(self), root, prefix, settings.DEBUG, tuple(configuration))
        if key not in scanned:
            before = dict(self.files)
            scan(self, root, prefix)
            scanned[key] = {url: found for url, found in self.files.items() if url not in before}
        self.files.update(scanned[key])

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(WhiteNoise, "update_files_dictionary", update_files_dictionary)
        yield


@pytest.fixture(scope="session")
def live_server(request, django_db_blocker, collected_static_files):
    """pytest-django's live server, with static files served by WhiteNoise from the
    collected, hashed files, exactly as production serves them (the default handler
    looks files up unhashed through the finders, which DEBUG-off pages never ask for)."""
    from pytest_django.live_server_helper import LiveServer

    with django_db_blocker.unblock():
        server = LiveServer("localhost", start=False)
        server.thread.static_handler = lambda handler: handler
        server.start()
    request.addfinalizer(server.stop)
    return server


@pytest.fixture(autouse=True)
def media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def default_language():
    """Each test starts in the site's default language. A request activates its language in
    the thread and nothing deactivates it: after a Spanish page, a test's factories would
    write `name=` to `name_es` (modeltranslation writes a field to the active language's
    column) and leave the English one, which every catalog entry needs, empty."""
    from django.conf import settings
    from django.utils import translation

    with translation.override(settings.LANGUAGE_CODE):
        yield


@pytest.fixture(autouse=True)
def empty_cache():
    """Each test starts with an empty cache (Redis on the PostgreSQL pass of .ci/run)."""
    from django.core.cache import cache

    from core.caching import local_copies
    from films.selectors import _title_pks

    cache.clear()
    local_copies.clear()
    _title_pks.clear()  # ids come again after each test's rollback
    yield
    cache.clear()


@pytest.fixture
def no_page_cache(settings):
    """For tests of what a view itself does (its context, its queries): a page served
    from the cache has neither. Everything else runs with caching on, as in production,
    so any page left stale by a write fails the test that made the write."""
    settings.PAGE_CACHE_SECONDS = 0


def ensure_roles():
    """The Editors and Moderators groups, as their data migration makes them.

    Transactional tests (the browser ones) flush the database afterwards, migration data
    included; a test that needs the groups after such a flush makes them again.
    """
    from django.apps import apps
    from django.contrib.auth.models import Group
    from django.db.models import Count

    roles = importlib.import_module("reviews.migrations.0003_roles")
    routine_roles = importlib.import_module("reviews.migrations.0012_routine_roles")
    # Making them means making every app's permissions first (a tenth of a second): only
    # when a flush has taken them.
    present = Group.objects.filter(name__in=roles.ROLES).annotate(held=Count("permissions"))
    wanted = {
        name: len(permissions) + len(routine_roles.ADDED.get(name, ()))
        for name, permissions in roles.ROLES.items()
    }
    if dict(present.values_list("name", "held")) != wanted:
        roles.create_roles(apps, None)
        routine_roles.add_permissions(apps, None)


WORKER_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGQUIT)


def work_off_queue():
    from django_tasks_db.management.commands import db_worker
    from django_tasks_db.models import DBTaskResult

    # The worker takes over SIGINT/SIGTERM/SIGQUIT for a graceful stop; give them back.
    handlers = {number: signal.getsignal(number) for number in WORKER_SIGNALS}
    try:
        # Between tasks the worker closes connections past their age, which on PostgreSQL
        # (CONN_MAX_AGE 0, the pool) is every one: here that would be the test's own.
        with mock.patch(f"{db_worker.__name__}.close_old_connections"):
            call_command(
                "db_worker", "--batch", "--no-reload", "--no-startup-delay", "--interval=0",
                verbosity=0,
            )  # fmt: skip
    finally:
        for number, handler in handlers.items():
            signal.signal(number, handler)
    failed = DBTaskResult.objects.filter(status="FAILED")
    assert not failed.exists(), "\n".join(failed.values_list("traceback", flat=True))


@pytest.fixture
def run_queued_tasks(db):
    """Runs the mail queue's worker the way production does (`manage.py db_worker`, here
    with --batch: every waiting task, then stop), so tests see what reached the outbox.

    Mail is queued when the request's transaction commits; a test wrapped in a transaction
    commits nothing, so wrap the request in django_capture_on_commit_callbacks(execute=True)
    first (transactional tests, the browser ones, commit for real). A task that failed fails
    the test with its traceback.
    """
    return work_off_queue


def _rows_by_model():
    """Every row of every installed model's table, by model and primary key."""
    from django.apps import apps

    rows = {}
    for model in apps.get_models(include_auto_created=True):
        if model._meta.proxy or not model._meta.managed:
            continue
        fields = [field.attname for field in model._meta.concrete_fields]
        key = model._meta.pk.attname
        rows[model] = {row[key]: row for row in model._base_manager.values(*fields)}
    return rows


@pytest.fixture(scope="session")
def catalog_rows(django_db_setup, django_db_blocker):
    """What `load_catalog` adds to a freshly migrated database, model by model: the real
    command runs once a session, in a transaction rolled back afterwards."""
    from django.db import transaction

    with django_db_blocker.unblock(), transaction.atomic():
        before = _rows_by_model()
        call_command("load_catalog", verbosity=0)
        after = _rows_by_model()
        transaction.set_rollback(True)
    added, changed = {}, []
    for model, rows in after.items():
        new = [row for pk, row in rows.items() if pk not in before[model]]
        changed += [model for pk, row in before[model].items() if rows.get(pk) != row]
        if new:
            added[model] = new
    # A copy of the rows it adds is the load only while it adds rows and touches no others.
    assert not changed, f"load_catalog changed rows it did not add: {changed}"
    return added


@pytest.fixture
def catalog(db, catalog_rows):
    """The real franchise catalog, as `make run` loads it: the very rows `load_catalog`
    wrote in this session's first load, copied in, in a twentieth of the time of loading
    it again. (The loader's tests load it again on top, as a second `make run` does.) The
    copy keeps the rows' ids: a test that writes catalog rows of its own does so after it."""
    from django.core.management.color import no_style
    from django.db import connection, transaction

    # One transaction, as the load's own: foreign keys are checked once every row is in
    # (a transactional test has no test transaction around it).
    with transaction.atomic():
        for model, rows in catalog_rows.items():
            # bulk_create stamps auto_now fields with the time of the copy, as a load would.
            model._base_manager.bulk_create(model(**row) for row in rows)
        # Rows given their ids leave PostgreSQL's sequences behind; SQLite keeps up itself.
        with connection.cursor() as cursor:
            for statement in connection.ops.sequence_reset_sql(no_style(), list(catalog_rows)):
                cursor.execute(statement)


def service_reachable(url: str, default_port: int) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname, parsed.port or default_port), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def redis_url():
    server = os.environ.get("STEPUP_TEST_REDIS", "redis://127.0.0.1:6379")
    url = os.environ.get("REDIS_URL") or f"{server}/15"
    if not service_reachable(url, 6379):
        skip_or_fail(f"Redis is not reachable at {url}")
    return url


@pytest.fixture(scope="session")
def playwright_browser():
    if not CHROMIUM.exists():
        skip_or_fail(f"Chromium is missing at {CHROMIUM} (`make test` installs it as root)")
    # Playwright's sync API runs an event loop in this thread; the Django calls the
    # tests make around it are ordinary synchronous ones.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    from tools.browser import launch_chromium

    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        yield browser
        browser.close()


@pytest.fixture
def page(playwright_browser):
    """A desktop-sized tab. Every browser test also proves the pages it visits live within
    the Content-Security-Policy: Chromium reports anything the policy blocked (an inline
    script or style, a foreign source) on the console, and any such report fails the test."""
    # Wide enough for the header's menu to be open (it folds below 1400 px); narrower
    # widths are the phone tests' and the header test's.
    context = playwright_browser.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    blocked = []
    page.on(
        "console",
        lambda message: (
            blocked.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    yield page
    context.close()
    assert not blocked, f"the Content-Security-Policy blocked something: {blocked}"


@pytest.fixture
def renders():
    """The names of the templates rendered, in any thread, while the test runs."""
    from django.test.signals import template_rendered

    names = []

    def rendered(sender, template, **kwargs):
        names.append(template.name)

    template_rendered.connect(rendered, dispatch_uid="tests-renders")
    yield names
    template_rendered.disconnect(dispatch_uid="tests-renders")
