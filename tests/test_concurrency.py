"""Members writing at the same moment: never a second review, never a lost vote, never a
stored count off its recount, never an error page.

On PostgreSQL the writes go through the real views with Django's test client, one client
and one database connection per thread, all released at once by a barrier; the service
functions are wrapped to count how many of their transactions really ran at once. On
SQLite the subject is the production set-up itself: gunicorn (2 workers x 4 threads) on
an SQLite file, where every writer queues for the one write lock.

Each test prints its figures (run with -s); docs/reliability.md records them.
"""

import importlib.util
import json
import logging
import random
import re
import sqlite3
import threading
import time
import traceback
from collections import Counter
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from functools import partial

import pytest
from django.core.signals import got_request_exception
from django.db import connection
from django.test import Client
from django.test.client import ClientHandler
from django.urls import reverse

from films.models import Title
from reviews import services
from reviews.models import Comment, HelpfulVote, Review, Status, TitleLanguageCount
from tests.conftest import skip_or_fail
from tests.factories import TitleFactory, UserFactory, review
from tests.reviews.test_services import stored_aggregates
from tests.servers import manage, production_environment, sign_up, site_served

# Row locks, unique indexes and a connection pool under real parallel load: PostgreSQL's.
# The SQLite pass of CI tests on an in-memory database, which locks unlike the production
# file (shared-cache table locks, no WAL or busy timeout): the gunicorn test covers SQLite.
# Each is deselected (not skipped) in the other pass: see the "database" marker in conftest.
on_postgresql = pytest.mark.database("postgresql")
# Fifty threads, each with its own connection, against the server.
storm = pytest.mark.slow
# The SQLite file under gunicorn has nothing to do with the database the suite runs on; it
# runs once, in the SQLite pass, instead of twice testing the same thing.
on_sqlite = pytest.mark.database("sqlite")

SIMULTANEOUS = 50
STORM_MEMBERS, STORM_STEPS, STORM_TITLES = 20, 15, 3
SQLITE_WRITERS, SQLITE_STEPS, SQLITE_SECONDS = 10, 100, 10
# Connections the threads may hold at once: enough for real overlap, well under the
# server's max_connections, which other test runs on the machine share.
POOL_SIZE = 25
LOCKED = "database is locked"
# What the service wrappers count: every write the views make to reviews, votes, comments.
WRITE_SERVICES = (
    "review_submit",
    "review_delete",
    "helpful_vote_toggle",
    "comment_create",
    "comment_update",
    "comment_delete",
)


# --- Counting what ran at once ------------------------------------------------------------


class Overlap:
    """How many of something were under way at once, and how many began while another was."""

    def __init__(self):
        self._lock = threading.Lock()
        self.reset()

    @contextmanager
    def track(self):
        with self._lock:
            self.total += 1
            self.overlapped += self.now > 0
            self.now += 1
            self.most = max(self.most, self.now)
        started = time.monotonic()
        try:
            yield
        finally:
            with self._lock:
                self.now -= 1
                self.slowest = max(self.slowest, time.monotonic() - started)

    def reset(self):
        with self._lock:
            self.now = self.most = self.total = self.overlapped = 0
            self.slowest = 0.0

    def __str__(self):
        return (
            f"{self.total}, at most {self.most} at once, {self.overlapped} began mid-another,"
            f" slowest {self.slowest:.2f} s"
        )


@dataclass
class Tally:
    """What the threads saw: responses by status, and every one no member should ever see."""

    requests: Overlap = field(default_factory=Overlap)
    transactions: Overlap | None = None
    statuses: Counter = field(default_factory=Counter)
    failures: list = field(default_factory=list)
    seconds: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, what, status, body=""):
        with self._lock:
            self.statuses[status] += 1
            if status >= 500 or LOCKED in body:
                self.failures.append(f"{what} -> {status}: {body[-3000:]}")

    def report(self, name):
        lines = [
            f"CONCURRENCY {name} on {connection.vendor}: {self.seconds:.2f} s",
            f"  HTTP requests: {self.requests}",
            f"  responses by status: {dict(sorted(self.statuses.items()))}",
        ]
        if self.transactions is not None:
            lines.append(f"  write transactions: {self.transactions}")
        lines.append(f"  5xx or '{LOCKED}': {len(self.failures)}")
        print("\n" + "\n".join(lines))


def run_together(tally, jobs):
    """Each job in its own thread, all released at once by a barrier.

    Every thread gives its database connection back when it ends (to the pool, on
    PostgreSQL): a thread that kept it would starve the others.
    """
    barrier = threading.Barrier(len(jobs) + 1)
    crashed = []

    def run(job):
        try:
            barrier.wait(timeout=60)
            job()
        except Exception as error:  # an assertion or bug in the test's own thread
            crashed.append(repr(error))
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for overlap in (tally.requests, tally.transactions):
        if overlap is not None:
            overlap.reset()  # only what the threads do counts, not the test's set-up
    for thread in threads:
        thread.start()
    barrier.wait(timeout=60)
    started = time.monotonic()
    for thread in threads:
        thread.join(timeout=120)
    tally.seconds = time.monotonic() - started
    assert not any(thread.is_alive() for thread in threads), "a thread never finished"
    assert not crashed, crashed


# --- Stored counts against a fresh recount --------------------------------------------------


def counts_off_their_recount():
    """Every stored aggregate or count that differs from a fresh recount (none: [])."""
    off = []
    for title in Title.objects.order_by("pk"):
        stored, recounted = stored_aggregates(title), services.title_aggregates_recount(title)
        if stored != recounted:
            off.append(f"title {title.slug}: stored {stored}, recounted {recounted}")
        stored = TitleLanguageCount.objects.of_title(title)
        recounted = services.title_language_counts_recount(title)
        if stored != recounted:
            off.append(f"title {title.slug} by language: stored {stored}, recounted {recounted}")
    for each in Review.objects.order_by("pk"):
        stored = {"helpful_count": each.helpful_count, "comment_count": each.comment_count}
        recounted = services.review_counts_recount(each)
        if stored != recounted:
            off.append(f"review {each.pk}: stored {stored}, recounted {recounted}")
    return off


# --- The storm: random writes by one member ------------------------------------------------


class Storm:
    """One member's random writes over a few titles, through whatever `post` speaks to:
    post or edit their review, delete it, toggle a helpful vote on someone else's review,
    comment on one, edit or delete one of their own comments."""

    WEIGHTS = {
        "review": 3,
        "delete review": 1,
        "vote": 3,
        "comment": 2,
        "edit comment": 1,
        "delete comment": 1,
    }

    def __init__(self, *, seed, slugs, post, reviews_by_others):
        self.random = random.Random(seed)
        self.slugs = slugs
        self.post = post  # (what, path, form) -> (status, Location header or "")
        self.reviews_by_others = reviews_by_others  # () -> ids of reviews they may vote on
        self.own_comments = []

    def step(self):
        choice = self.random.choices(list(self.WEIGHTS), weights=list(self.WEIGHTS.values()))[0]
        slug = self.random.choice(self.slugs)
        if choice == "review":
            form = {
                "rating": self.random.randint(1, 10),
                "headline": "",
                "body": self.random.choice(["", "Danced through it twice."]),
                # Either language: edits move a review between the titles' counts by
                # language, and first reviews in a language race to insert its row.
                "language": self.random.choice(["en", "es"]),
            }
            self.post(choice, reverse("reviews:edit", kwargs={"slug": slug}), form)
        elif choice == "delete review":
            self.post(choice, reverse("reviews:delete", kwargs={"slug": slug}), {})
        elif choice in {"vote", "comment"}:
            others = self.reviews_by_others()
            if not others:
                return
            pk = self.random.choice(others)
            if choice == "vote":
                self.post(choice, reverse("reviews:helpful", kwargs={"pk": pk}), {})
                return
            url = reverse("reviews:comment_create", kwargs={"pk": pk})
            _status, location = self.post(choice, url, {"body": "Same here."})
            posted = re.search(r"#comment-(\d+)$", location)
            if posted:
                self.own_comments.append(int(posted.group(1)))
        elif self.own_comments:
            # Perhaps deleted already, with its review: the answer is then a 404.
            pk = self.random.choice(self.own_comments)
            if choice == "edit comment":
                url = reverse("reviews:comment_edit", kwargs={"pk": pk})
                self.post(choice, url, {"body": "Same here, on second thought."})
            else:
                self.post(choice, reverse("reviews:comment_delete", kwargs={"pk": pk}), {})
                self.own_comments.remove(pk)


# --- PostgreSQL: the views in threads ---------------------------------------------------------


@pytest.fixture
def database_pool_for_threads():
    """Django's pool is made once per process from OPTIONS["pool"] (max 10 by default):
    closed here and made again, larger and with a longer wait, by the next connection."""
    options = connection.settings_dict["OPTIONS"]
    configured = options.get("pool")
    if not configured:
        yield
        return
    connection.close()
    connection.close_pool()
    options["pool"] = {**configured, "max_size": POOL_SIZE, "timeout": 60}
    try:
        yield
    finally:
        connection.close()
        connection.close_pool()
        options["pool"] = configured


# The traceback of the view that failed in this thread. The test client's own way of
# re-raising it is no use with threads: every client then in flight hears the signal and
# raises the same exception, so one real 500 would show as many.
_failed_here = threading.local()


def _remember_traceback(sender, request=None, **kwargs):
    _failed_here.traceback = traceback.format_exc(limit=-8)  # sent in the failing thread


@pytest.fixture
def tally(monkeypatch, settings, database_pool_for_threads):
    """Rate limits counting but far off (the invariants are what is tested here, and the
    limiter's own writes to the shared cache are part of every real write), and each
    write service counted while its transaction runs, to show that they overlapped."""
    settings.RATE_LIMITS = dict.fromkeys(settings.RATE_LIMITS, "100000/h")
    # Quiet, so the figures stand out under -s: a line per sign-in (django-axes) and per
    # expected 404 (a comment gone with its review). Errors are still logged.
    quieted = {"axes": logging.WARNING, "django.request": logging.ERROR}
    levels_before = {name: logging.getLogger(name).level for name in quieted}
    for name, level in quieted.items():
        logging.getLogger(name).setLevel(level)
    transactions = Overlap()
    for name in WRITE_SERVICES:
        original = getattr(services, name)

        def counted(*args, _original=original, **kwargs):
            with transactions.track():
                return _original(*args, **kwargs)

        monkeypatch.setattr(services, name, counted)
    got_request_exception.connect(_remember_traceback, dispatch_uid="concurrency-tally")
    yield Tally(transactions=transactions)
    got_request_exception.disconnect(dispatch_uid="concurrency-tally")
    for name, level in levels_before.items():
        logging.getLogger(name).setLevel(level)


@pytest.fixture
def handler():
    """One request handler for all the threads' clients, as a WSGI server has one per
    process: its middleware is built once, here, not by fifty clients at the starting gun
    (WhiteNoise's scan of the static files would be most of what they did at once)."""
    handler = ClientHandler(enforce_csrf_checks=False)
    handler.load_middleware()
    return handler


def signed_in(member, handler):
    client = Client(raise_request_exception=False)  # a failing view answers 500, as live
    client.handler = handler
    client.force_login(member)
    return client


def send(tally, client, what, path, form):
    """POST as a browser form would; returns (status, Location)."""
    _failed_here.traceback = ""
    with tally.requests.track():
        try:
            response = client.post(path, form)
        finally:
            # Back to the pool, as the end of a real request does (the test client keeps it).
            connection.close()
    body = response.content.decode(errors="replace")
    tally.record(what, response.status_code, _failed_here.traceback or body)
    return response.status_code, response.get("Location", "")


@on_postgresql
@storm
@pytest.mark.django_db(transaction=True)
def test_fifty_identical_review_posts_at_once_make_one_review_and_no_error(tally, handler):
    title, member = TitleFactory(), UserFactory()
    clients = [signed_in(member, handler) for _ in range(SIMULTANEOUS)]
    path = reverse("reviews:edit", kwargs={"slug": title.slug})
    form = {"rating": 8, "headline": "Once only", "body": "Sent fifty times in one go."}

    run_together(tally, [partial(send, tally, client, "review", path, form) for client in clients])
    tally.report("identical review posts")

    assert not tally.failures, "\n\n".join(tally.failures)
    assert Review.objects.filter(title=title, author=member).count() == 1
    assert counts_off_their_recount() == []
    assert Title.objects.get(pk=title.pk).rating_count == 1
    assert tally.transactions.most > 1, "the posts never overlapped: the test proved nothing"


@on_postgresql
@storm
@pytest.mark.django_db(transaction=True)
def test_fifty_members_voting_at_once_make_fifty_votes_and_a_count_of_fifty(tally, handler):
    target = review(author=UserFactory(), rating=9, body="Worth a vote.")
    clients = [signed_in(voter, handler) for voter in UserFactory.create_batch(SIMULTANEOUS)]
    path = reverse("reviews:helpful", kwargs={"pk": target.pk})

    run_together(tally, [partial(send, tally, client, "vote", path, {}) for client in clients])
    tally.report("helpful votes on one review")

    assert not tally.failures, "\n\n".join(tally.failures)
    assert HelpfulVote.objects.filter(review=target).count() == SIMULTANEOUS
    target.refresh_from_db()
    assert target.helpful_count == SIMULTANEOUS
    assert counts_off_their_recount() == []
    assert tally.transactions.most > 1, "the votes never overlapped: the test proved nothing"


@on_postgresql
@storm
@pytest.mark.django_db(transaction=True)
def test_a_storm_of_writes_leaves_every_stored_count_equal_to_a_recount(tally, handler):
    titles = TitleFactory.create_batch(STORM_TITLES)
    members = UserFactory.create_batch(STORM_MEMBERS)
    # Every member starts with a review of the first title, so votes and comments have
    # something to act on from the first moment.
    for member in members:
        review(title=titles[0], author=member, rating=6, body="Seen it.")
    slugs = [title.slug for title in titles]

    def reviews_by_others(member):
        published = Review.objects.filter(status=Status.PUBLISHED).exclude(author=member)
        ids = list(published.values_list("pk", flat=True))
        connection.close()
        return ids

    def member_storm(index, member, client):
        storm = Storm(
            seed=index,
            slugs=slugs,
            post=partial(send, tally, client),
            reviews_by_others=partial(reviews_by_others, member),
        )
        for _ in range(STORM_STEPS):
            storm.step()

    clients = [signed_in(member, handler) for member in members]
    run_together(
        tally,
        [
            partial(member_storm, i, m, c)
            for i, (m, c) in enumerate(zip(members, clients, strict=True))
        ],
    )
    tally.report(f"storm, {STORM_MEMBERS} members x {STORM_STEPS} writes")

    assert not tally.failures, "\n\n".join(tally.failures)
    assert counts_off_their_recount() == []
    assert tally.transactions.most > 1, "the writes never overlapped: the test proved nothing"


# --- SQLite: gunicorn on a file ------------------------------------------------------------------


@pytest.fixture
def sqlite_server(collected_static_files, tmp_path):
    """The embedded deployment: gunicorn as production runs it (2 workers x 4 threads,
    stepup_site/gunicorn.conf.py) on a fresh SQLite file. Rate limits off: ten members
    writing hundreds of times a minute is what this test is for."""
    from django.conf import settings

    if importlib.util.find_spec("gunicorn") is None:
        skip_or_fail("gunicorn is not installed")
    database = tmp_path / "concurrency.sqlite3"
    env = production_environment(
        {"DATABASE_URL": f"sqlite:///{database}", "REDIS_URL": ""},
        settings.STATIC_ROOT,
        tmp_path / "media",
    )
    # The limits count (one more write to the shared table per post) but never refuse.
    env.update(
        GUNICORN_WORKERS="2",
        GUNICORN_THREADS="4",
        **{f"RATE_LIMIT_{name.upper()}": "100000/h" for name in settings.RATE_LIMITS},
    )
    with site_served(env, tmp_path, "sqlite") as server:
        yield server, env, database


@on_sqlite
@pytest.mark.slow
def test_ten_writers_on_sqlite_under_gunicorn_see_no_lock_error_and_counts_stay_right(
    sqlite_server,
):
    server, env, database = sqlite_server
    slugs = ["step-up", "step-up-all-in", "step-up-high-water"]
    tally = Tally()

    writers = []
    for index in range(SQLITE_WRITERS):
        username = f"writer{index}"
        visitor = sign_up(server, username)
        form = reverse("reviews:edit", kwargs={"slug": slugs[0]})
        # A first review each, so votes and comments have something to act on at once.
        visitor.post_form(server, form, {"rating": 6, "headline": "", "body": "Seen it."})
        writers.append((username, visitor, visitor.form_token(server, form)))

    def reviews_by_others(username):
        # Read-only, beside the server: WAL readers never hold up its writers.
        with closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=20)) as reader:
            rows = reader.execute(
                "SELECT review.id FROM reviews_review review"
                " JOIN accounts_user author ON author.id = review.author_id"
                " WHERE review.status = 'published' AND author.username != ?",
                (username,),
            )
            return [pk for (pk,) in rows]

    def post(visitor, token, what, path, form):
        with tally.requests.track():
            try:
                status, headers, body = visitor.request(
                    server, "POST", path, {"csrfmiddlewaretoken": token, **form}
                )
            except OSError as error:  # a connection dropped or timed out is a failure too
                tally.record(what, 599, repr(error))
                return 599, ""
        tally.record(what, status, body)
        return status, headers.get("Location", "")

    def writer_storm(index, username, visitor, token):
        storm = Storm(
            seed=index,
            slugs=slugs,
            post=partial(post, visitor, token),
            reviews_by_others=partial(reviews_by_others, username),
        )
        # A busy machine makes each write slower: the time limit keeps the test short.
        deadline = time.monotonic() + SQLITE_SECONDS
        for _ in range(SQLITE_STEPS):
            if time.monotonic() > deadline:
                break
            storm.step()

    run_together(tally, [partial(writer_storm, i, *writer) for i, writer in enumerate(writers)])
    server.stop()  # all it logged is on disk
    tally.report(
        f"gunicorn 2x4 on an SQLite file, {SQLITE_WRITERS} writers x {SQLITE_STEPS} writes"
        f" or {SQLITE_SECONDS} s"
    )

    assert not tally.failures, "\n\n".join(tally.failures)
    log = server.log()
    assert LOCKED not in log, server.log_tail()
    assert "Traceback" not in log, server.log_tail()
    assert tally.requests.most > 1, "the writes never overlapped: the test proved nothing"
    recount = manage(
        env,
        "shell",
        "-c",
        "import json; from tests.test_concurrency import counts_off_their_recount as off;"
        " print(json.dumps(off()))",
    )
    assert json.loads(recount.strip().splitlines()[-1]) == []


@pytest.mark.django_db
def test_editing_a_comment_deleted_a_moment_ago_is_refused_not_a_failed_save():
    # What the PostgreSQL storm found about one run in ten: the view has read the comment,
    # its review is deleted (and the comment with it), then the edit is saved. That save
    # used to fail ("did not affect any rows") and the author got an error page; now the
    # service says the comment is gone, which the view answers with a 404.
    target = review(author=UserFactory(), rating=5, body="Up for discussion.")
    comment = services.comment_create(review=target, author=UserFactory(), body="First!")
    services.review_delete(review=target)

    with pytest.raises(Comment.DoesNotExist):
        services.comment_update(comment=comment, body="Second thoughts.")
