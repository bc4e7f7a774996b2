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


def pytest_collection_modifyitems(config, items):
    """Tests marked database("postgresql") belong to the PostgreSQL pass of .ci/run only
    (and database("sqlite") to the SQLite pass): in the other pass they are deselected, not
    skipped, so a skip always means something could not run."""
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

    roles = importlib.import_module("reviews.migrations.0003_roles")
    roles.create_roles(apps, None)
    importlib.import_module("reviews.migrations.0012_routine_roles").add_permissions(apps, None)


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


@pytest.fixture
def catalog(db):
    """The real franchise catalog, loaded the way `make run` loads it."""
    call_command("load_catalog", verbosity=0)


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
    context = playwright_browser.new_context(viewport={"width": 1280, "height": 900})
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
