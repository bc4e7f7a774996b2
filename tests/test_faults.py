"""Faults: the database or Redis going away, and the site's own error pages."""

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import threading
import time

import pytest
import redis
from django.core.cache import caches
from django.db import OperationalError
from django.db.backends.base.base import BaseDatabaseWrapper
from django.test import Client, override_settings
from django.urls import reverse

from core.cache import ResilientRedisCache
from films.models import Title
from reviews.models import Review
from tests.conftest import service_reachable, skip_or_fail
from tests.factories import TitleFactory, UserFactory, review
from tests.html import assert_valid_accessible_page
from tests.servers import Visitor, free_port, production_environment, sign_up, site_served

pytestmark = pytest.mark.django_db

PASSWORD = "battle-in-vegas-2014"


# --- The database goes away --------------------------------------------------------


@pytest.fixture
def database_down(monkeypatch):
    """Every new query fails as it does when the server is unreachable; undo() brings it back."""

    def unreachable(self):
        raise OperationalError("connection to server at 127.0.0.1, port 5432 failed: refused")

    class Outage:
        def start(self):
            monkeypatch.setattr(BaseDatabaseWrapper, "ensure_connection", unreachable)

        def end(self):
            monkeypatch.undo()

    return Outage()


def browser(**defaults):
    """A client that gets the error page a browser would, not the exception."""
    return Client(raise_request_exception=False, **defaults)


def assert_readable_503(response):
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    html = response.content.decode()
    assert_valid_accessible_page(html)
    assert "Briefly unavailable" in html and "Step Up Community" in html
    assert "Traceback" not in html and "OperationalError" not in html
    assert "Content-Security-Policy" in response.headers  # still the site's headers


def test_with_the_database_down_every_kind_of_request_gets_a_readable_503(database_down):
    title = TitleFactory()
    member = UserFactory(password=PASSWORD)
    reader = browser()
    reader.force_login(member)
    database_down.start()
    assert_readable_503(browser().get(title.get_absolute_url()))
    assert_readable_503(reader.get(title.get_absolute_url()))
    assert_readable_503(
        reader.post(reverse("reviews:edit", kwargs={"slug": title.slug}), {"rating": "8"})
    )
    assert_readable_503(
        browser().post(reverse("login"), {"username": member.username, "password": PASSWORD})
    )
    # The liveness probe needs no database: the load balancer keeps the process.
    assert browser().get("/healthz").status_code == 200


def test_the_site_recovers_by_itself_when_the_database_is_back(database_down):
    title = TitleFactory()
    member = UserFactory(password=PASSWORD)
    writer = browser()
    writer.force_login(member)
    database_down.start()
    assert writer.get(title.get_absolute_url()).status_code == 503
    database_down.end()
    assert writer.get(title.get_absolute_url()).status_code == 200
    posted = writer.post(reverse("reviews:edit", kwargs={"slug": title.slug}), {"rating": "8"})
    assert posted.status_code == 302
    assert Review.objects.get(author=member).rating == 8
    assert Title.objects.get(pk=title.pk).rating_count == 1


# --- Redis goes away -----------------------------------------------------------------


@pytest.fixture
def own_redis():
    """A Redis server of this test's own, which it can freeze (as a network cut does: it
    keeps its data and stops answering) and thaw."""
    binary = shutil.which("redis-server")
    if binary is None:
        skip_or_fail("redis-server is not installed, so a Redis outage cannot be staged")
    port = free_port()
    server = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            if time.monotonic() > deadline:
                server.kill()
                pytest.fail("the test's own redis-server did not start")
            time.sleep(0.05)
    yield server, f"redis://127.0.0.1:{port}/0"
    server.send_signal(signal.SIGCONT)
    server.kill()
    server.wait()


def redis_setup(url):
    """What settings.py configures when REDIS_URL is set, with short timeouts."""
    return override_settings(
        CACHES={
            "default": {
                "BACKEND": "core.cache.ResilientRedisCache",
                "LOCATION": url,
                "KEY_PREFIX": "stepup",
                "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
            }
        },
        CONTENT_VERSION_CACHE="default",
        RATELIMIT_USE_CACHE="default",
        SESSION_ENGINE="django.contrib.sessions.backends.cached_db",
        PAGE_CACHE_SECONDS=600,
    )


@pytest.mark.slow  # a redis-server of its own
def test_with_redis_cut_off_pages_sign_in_and_writes_keep_working_and_nothing_is_stale(
    own_redis,
):
    server, url = own_redis
    title = TitleFactory()
    review(title=title, body="Written before the outage")
    member = UserFactory(password=PASSWORD)
    with redis_setup(url):
        visitor = Client()
        assert visitor.get(title.get_absolute_url())["X-Page-Cache"] == "miss"
        assert visitor.get(title.get_absolute_url())["X-Page-Cache"] == "hit"
        leaving = Client()
        leaving.post(reverse("login"), {"username": member.username, "password": PASSWORD})
        old_session = leaving.cookies["sessionid"].value
        caches["default"].set("untouched-by-the-outage", "still here")

        server.send_signal(signal.SIGSTOP)
        started = time.monotonic()
        writer = Client()
        signed_in = writer.post(
            reverse("login"), {"username": member.username, "password": PASSWORD}
        )
        assert signed_in.status_code == 302
        assert writer.get(title.get_absolute_url()).status_code == 200
        posted = writer.post(
            reverse("reviews:edit", kwargs={"slug": title.slug}),
            {"rating": "9", "body": "Written while Redis was away"},
        )
        assert posted.status_code == 302
        page = visitor.get(title.get_absolute_url())
        assert page.status_code == 200
        assert "Written while Redis was away" in page.content.decode()
        leaving.post(reverse("logout"))  # the cached copy of this session cannot be removed
        # Each request pays at most one short timeout, not one per cache call.
        assert time.monotonic() - started < 5

        server.send_signal(signal.SIGCONT)
        time.sleep(2.5)  # past the pause before Redis is asked again
        page = visitor.get(title.get_absolute_url())
        assert "Written while Redis was away" in page.content.decode()
        assert Client().get(title.get_absolute_url()).status_code == 200
        # Only what the outage made stale was dropped, not the whole cache.
        assert caches["default"].get("untouched-by-the-outage") == "still here"
        replay = Client()
        replay.cookies["sessionid"] = old_session
        assert ">Sign out<" not in replay.get(reverse("films:home")).content.decode()


@pytest.mark.slow  # a redis-server of its own
def test_with_redis_stopped_the_rate_limits_let_members_through(own_redis, settings):
    server, url = own_redis
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "comment": "1/h"}
    target = review(title=TitleFactory(), body="Discuss")
    member = Client()
    member.force_login(UserFactory())
    url_comment = reverse("reviews:comment_create", kwargs={"pk": target.pk})
    with redis_setup(url):
        assert member.post(url_comment, {"body": "first"}).status_code == 302
        assert member.post(url_comment, {"body": "second"}).status_code == 429
        server.send_signal(signal.SIGSTOP)
        # Refusing everyone because the counter is unreachable would be worse than a
        # few extra comments: the limit fails open.
        assert member.post(url_comment, {"body": "third"}).status_code == 302


# --- The site's own error pages --------------------------------------------------------


def editing_someone_elses_comment(client):
    from reviews.models import Comment

    target = review(title=TitleFactory(), body="Discuss")
    comment = Comment.objects.create(review=target, author=UserFactory(), body="Mine")
    client.force_login(UserFactory())
    return client.get(reverse("reviews:comment_edit", kwargs={"pk": comment.pk}))


@pytest.mark.parametrize(
    ("status", "make_request", "heading"),
    [
        (400, lambda client: client.get("/", HTTP_HOST="evil.example"), "Bad request"),
        (403, lambda client: client.post(reverse("logout")), "This form has expired"),
        (403, lambda client: editing_someone_elses_comment(client), "Not allowed"),
        (404, lambda client: client.get("/no-such-page/"), "Page not found"),
    ],
)
def test_error_pages_are_in_the_sites_look(status, make_request, heading):
    response = make_request(browser(enforce_csrf_checks=True))
    assert response.status_code == status
    html = response.content.decode()
    assert_valid_accessible_page(html)
    assert f"<h1>{heading}</h1>" in html
    assert 'class="navbar-brand' in html


@override_settings(ROOT_URLCONF="tests.broken_urls")
def test_an_unexpected_error_is_a_500_in_the_sites_look():
    response = browser().get("/broken/")
    assert response.status_code == 500
    html = response.content.decode()
    assert_valid_accessible_page(html)
    assert "<h1>Something went wrong</h1>" in html and "a bug" not in html


# --- A real PostgreSQL outage, under gunicorn ----------------------------------------------


class CuttableLink:
    """A TCP relay between gunicorn and PostgreSQL that the test can cut and restore, as a
    database restart or a network fault does: cut, every open connection dies and new ones
    are refused; restored, it listens again on the same port."""

    def __init__(self, target_port):
        self.target_port = target_port
        self.port = free_port()
        self._listener = None
        self._sockets = set()
        self._lock = threading.Lock()

    def restore(self):
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self):
        # shutdown() first: close() alone leaves a socket listening while accept() blocks on it.
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()
        with self._lock:
            for open_socket in self._sockets:
                with contextlib.suppress(OSError):
                    open_socket.shutdown(socket.SHUT_RDWR)
                open_socket.close()
            self._sockets.clear()

    def _accept(self, listener):
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # cut
            try:
                server = socket.create_connection(("127.0.0.1", self.target_port))
            except OSError:
                client.close()
                continue
            with self._lock:
                self._sockets.update((client, server))
            for source, sink in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pump(source, sink):
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)


# Per run, so two runs on one server never share (or drop) each other's database.
FAULTS_DATABASE = f"stepup_faults_{os.getpid()}"


@pytest.fixture
def gunicorn_on_a_cuttable_postgres(tmp_path, collected_static_files):
    """gunicorn with the production settings on a PostgreSQL database of its own, reached
    through a link the test can cut. Runs in both passes of .ci/run: it needs the machine's
    PostgreSQL, not the suite's DATABASE_URL."""
    from django.conf import settings

    if not service_reachable("postgres://127.0.0.1:5432", 5432):
        skip_or_fail("PostgreSQL is not reachable at 127.0.0.1:5432")
    import psycopg

    with psycopg.connect("postgres://postgres@127.0.0.1:5432/postgres", autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {FAULTS_DATABASE} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {FAULTS_DATABASE}")
    link = CuttableLink(5432)
    link.restore()
    env = production_environment(
        {
            "DATABASE_URL": f"postgres://postgres@127.0.0.1:{link.port}/{FAULTS_DATABASE}",
            "REDIS_URL": "",
            # A request waits this long for a connection before it gets the 503 page.
            "DATABASE_POOL_TIMEOUT": "3",
        },
        settings.STATIC_ROOT,
        tmp_path / "media",
    )
    try:
        with site_served(env, tmp_path, "faults") as server:
            yield server, link
    finally:
        link.cut()
        with psycopg.connect(
            "postgres://postgres@127.0.0.1:5432/postgres", autocommit=True
        ) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {FAULTS_DATABASE} WITH (FORCE)")


@pytest.mark.slow  # gunicorn, a PostgreSQL database of its own and a relay to cut
def test_postgres_going_away_is_a_503_page_and_coming_back_needs_no_restart(
    gunicorn_on_a_cuttable_postgres,
):
    server, link = gunicorn_on_a_cuttable_postgres
    visitor = Visitor()
    all_in = "/titles/step-up-all-in/"
    assert visitor.request(server, "GET", all_in)[0] == 200

    link.cut()
    started = time.monotonic()
    status, headers, html = visitor.request(server, "GET", all_in)
    assert status == 503, html[:2000]
    assert headers["Retry-After"] == "30"
    assert "Briefly unavailable" in html and "Traceback" not in html
    assert_valid_accessible_page(html)
    assert visitor.request(server, "GET", "/healthz")[0] == 200
    assert time.monotonic() - started < 10

    link.restore()
    restored = time.monotonic()
    # Recovered means every worker and thread again, not the first lucky one: each worker's
    # pool reconnects on its own (with backoff), so wait for a run of answers in a row.
    in_a_row = 0
    while in_a_row < 20:
        assert time.monotonic() - restored < 30, "the site did not recover by itself"
        in_a_row = in_a_row + 1 if visitor.request(server, "GET", all_in)[0] == 200 else 0
        if not in_a_row:
            time.sleep(0.2)
    print(f"\nRECOVERY every worker answering within {time.monotonic() - restored:.1f} s")
    member = sign_up(server, "back-online")
    member.post_form(server, f"{all_in}review/", {"rating": "8", "body": "Back online."})
    assert "Back online." in member.get(server, all_in)
    # The outage is logged for the operators, as 503s with the database's error; never a 500.
    assert "Service Unavailable: /titles/step-up-all-in/" in server.log()
    assert "Internal Server Error" not in server.log()


def test_only_an_unreachable_or_overloaded_database_is_a_503_not_a_deadlock():
    """A deadlock is a bug to see (a 500 in the logs), not an outage to wait out."""
    import psycopg

    from stepup_site.views import database_unavailable

    def wrapped(cause):
        error = OperationalError(str(cause))
        error.__cause__ = cause
        return error

    refused = wrapped(psycopg.OperationalError("connection refused"))  # no SQLSTATE
    shutting_down = wrapped(psycopg.errors.AdminShutdown("terminating connection"))
    too_many = wrapped(psycopg.errors.TooManyConnections("too many clients"))
    deadlock = wrapped(psycopg.errors.DeadlockDetected("deadlock detected"))
    assert database_unavailable(refused)
    assert database_unavailable(shutting_down)
    assert database_unavailable(too_many)
    assert database_unavailable(OperationalError("database is locked"))  # SQLite
    assert not database_unavailable(deadlock)
    assert not database_unavailable(RuntimeError("a bug"))


def test_a_body_larger_than_any_form_needs_is_refused_unread_with_a_page():
    from django.conf import settings

    huge = "x" * (settings.MAX_REQUEST_BYTES + 1)
    response = browser().post(reverse("accounts:signup"), {"username": huge})
    assert response.status_code == 413
    html = response.content.decode()
    assert_valid_accessible_page(html)
    assert "<h1>Too large</h1>" in html and "11 MB at most" in html
    assert not UserFactory._meta.model.objects.exists()


@pytest.mark.slow  # a redis-server of its own
def test_emptying_the_cache_leaves_other_programs_keys_in_a_shared_redis_database(own_redis):
    _server, url = own_redis
    neighbour = redis.Redis.from_url(url)
    neighbour.set("another-app:queue", "theirs")
    neighbour.set("stepup-archive:1:key", "theirs too: a prefix that merely starts alike")
    cache = ResilientRedisCache(url, {"KEY_PREFIX": "stepup"})
    cache.set("page", "ours")

    assert cache.clear()
    assert cache.get("page") is None
    assert neighbour.get("another-app:queue") == b"theirs"
    assert neighbour.get("stepup-archive:1:key") is not None

    # After an outage that lost more writes than it could remember, the same: the site's
    # keys only.
    cache.set("page", "ours")
    client = cache._cache
    client.outage.failed(RuntimeError("cut off"))
    client.outage._too_many = True
    client.outage._retry_at = 0
    assert cache.get("page") is None
    assert neighbour.get("another-app:queue") == b"theirs"
