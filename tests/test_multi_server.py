"""The site scales out: two gunicorn servers on one PostgreSQL database and one Redis
(and, on the embedded default, two on one SQLite file with private local-memory caches).

What a member does through one server shows on the other at once, with no sleep: a new
rating moves the count and the average, an edit moves the average, a deletion takes the
rating away again; and a session made on one server signs the member in on the other.
Everything goes over plain HTTP, as a TLS-terminating proxy would forward it.
"""

import importlib.util
import json
import os
import secrets
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import html5lib
import pytest

from tests.conftest import service_reachable, skip_or_fail
from tests.servers import (
    PROJECT_ROOT,
    Server,
    Visitor,
    free_port,
    manage,
    production_environment,
    sign_up,
)

# Two gunicorn servers, a PostgreSQL database and Redis for each test.
pytestmark = pytest.mark.slow

# Per run, so two runs on one server never share (or drop) each other's database.
DATABASE_NAME = f"stepup_multiserver_{os.getpid()}"
REDIS_DB = 13
ALL_IN_NAME = "Step Up: All In"


# --- The shared database and cache, and the two servers -------------------------------


def postgres_server_url():
    """The PostgreSQL server CI uses (DATABASE_URL when it names one), without a database."""
    configured = os.environ.get("DATABASE_URL", "")
    if configured.startswith(("postgres://", "postgresql://")):
        return urlunsplit(urlsplit(configured)._replace(path=""))
    return "postgres://postgres@127.0.0.1:5432"


def redis_server_url():
    # .ci/run's throwaway Redis server, else the one REDIS_URL names, else the machine's.
    if os.environ.get("STEPUP_TEST_REDIS"):
        return os.environ["STEPUP_TEST_REDIS"]
    configured = os.environ.get("REDIS_URL", "")
    if configured.startswith("redis://"):
        return urlunsplit(urlsplit(configured)._replace(path=""))
    return "redis://127.0.0.1:6379"


def admin_connection(server_url):
    import psycopg

    return psycopg.connect(f"{server_url}/postgres", autocommit=True, connect_timeout=5)


def recreate_database(server_url):
    with admin_connection(server_url) as connection:
        # FORCE: a server or test killed earlier may still hold connections to it.
        connection.execute(f"DROP DATABASE IF EXISTS {DATABASE_NAME} WITH (FORCE)")
        connection.execute(f"CREATE DATABASE {DATABASE_NAME}")


def drop_database(server_url):
    with admin_connection(server_url) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {DATABASE_NAME} WITH (FORCE)")


@pytest.fixture(scope="module", params=["postgresql+redis", "sqlite"])
def shared_backends(request, tmp_path_factory):
    """What both servers share. In production: a fresh PostgreSQL database and an empty
    Redis database, dropped and emptied after. On the embedded default: one SQLite file,
    each server with its own local-memory cache (the content version is in the database,
    so a write through one server still reaches the other's cached pages)."""
    if importlib.util.find_spec("gunicorn") is None:
        skip_or_fail("gunicorn is not installed")
    if request.param == "sqlite":
        database = tmp_path_factory.mktemp("multi-server-sqlite") / "shared.sqlite3"
        yield {"DATABASE_URL": f"sqlite:///{database}", "REDIS_URL": ""}
        return
    postgres = postgres_server_url()
    redis_url = f"{redis_server_url()}/{REDIS_DB}"
    if not service_reachable(postgres, 5432):
        skip_or_fail(f"PostgreSQL is not reachable at {postgres}")
    if not service_reachable(redis_url, 6379):
        skip_or_fail(f"Redis is not reachable at {redis_url}")
    import redis

    cache = redis.Redis.from_url(redis_url, socket_timeout=5)
    try:
        recreate_database(postgres)
    except Exception as error:  # an auth or permission problem, not a test failure
        skip_or_fail(f"cannot create the database {DATABASE_NAME} on {postgres}: {error}")
    cache.flushdb()
    try:
        yield {"DATABASE_URL": f"{postgres}/{DATABASE_NAME}", "REDIS_URL": redis_url}
    finally:
        cache.flushdb()
        drop_database(postgres)


@pytest.fixture(scope="module")
def servers(shared_backends, collected_static_files, tmp_path_factory):
    """Servers A and B: gunicorn with the production settings, on the same backends."""
    from django.conf import settings

    folder = tmp_path_factory.mktemp("multi-server")
    # DEBUG off serves the hashed files: the ones conftest collected for the whole suite.
    env = production_environment(shared_backends, settings.STATIC_ROOT, folder / "media")
    manage(env, "migrate", "--noinput")
    manage(env, "load_catalog")
    both = [Server(name, free_port(), folder / f"gunicorn-{name}.log") for name in "AB"]
    try:
        for server in both:
            server.start(env)
        for server in both:
            server.wait_until_healthy()
        yield both
    finally:
        for server in both:
            server.stop()
        for server in both:
            tail = server.log_tail()
            if "Traceback" in tail or "[ERROR]" in tail:
                print(f"\n--- gunicorn {server.name} log ---\n{tail}")


# --- Reading the title page -----------------------------------------------------------------


@dataclass
class Ratings:
    count: int
    average: str | None  # as shown: "3.5"
    by_stars: dict  # "4.5": how many ratings of four and a half stars
    review_texts: list
    own_review_text: str | None
    signed_in_as: str | None


def text_of(element):
    return " ".join("".join(element.itertext()).split())


def has_class(element, name):
    return name in (element.get("class") or "").split()


def read_ratings(html):
    """What the page's "Ratings and reviews" section shows: the average and count by their
    ids (rating-average, rating-count), per-star counts from the histogram table."""
    document = html5lib.parse(html, namespaceHTMLElements=False)
    section = document.find(".//section[@id='reviews']")
    assert section is not None, "the title page has no section#reviews"
    average_element = section.find(".//*[@id='rating-average']")
    average = text_of(average_element) if average_element is not None else None
    count_element = section.find(".//*[@id='rating-count']")
    count = int(count_element.get("data-count")) if count_element is not None else 0
    if average is None:
        assert "No one has rated" in text_of(section), "neither an average nor 'No one has rated'"
    by_stars = {}
    for table in section.iter("table"):
        if has_class(table, "histogram"):
            for row in table.find("tbody").iter("tr"):
                stars = text_of(row.find("th")).replace("★", "").strip()
                by_stars[stars] = int(text_of(row.findall("td")[-1]))
    bodies = {}
    for article in section.iter("article"):
        body = next((d for d in article.iter("div") if has_class(d, "review-body")), None)
        bodies[article.get("id")] = text_of(body) if body is not None else ""
    member = next((text_of(a) for a in document.iter("a") if has_class(a, "member-name")), None)
    return Ratings(
        count=count,
        average=average,
        by_stars=by_stars,
        review_texts=list(bodies.values()),
        own_review_text=bodies.get("own-review"),
        signed_in_as=member,
    )


def all_in_path():
    catalog = json.loads((PROJECT_ROOT / "films" / "catalog" / "catalog.json").read_text())
    slug = next(entry["slug"] for entry in catalog["titles"] if entry["name"] == ALL_IN_NAME)
    return f"/titles/{slug}/"


def review(visitor, server, title_path, *, rating, text):
    form = f"{title_path}review/"
    fields = {"rating": rating, "headline": "", "body": text}
    location = visitor.post_form(server, form, fields)
    assert location.startswith(title_path), f"the review post went to {location}"


def average_shown(ratings):
    """The average as the page shows it: stars (a rating is half-stars), rounded by the
    template's floatformat (half up: 4.25 shows as 4.3)."""
    from django.template.defaultfilters import floatformat

    return floatformat(sum(ratings) / len(ratings) / 2, 1)


# --- The test -------------------------------------------------------------------------------------


def test_what_one_server_writes_the_other_shows_at_once(servers):
    server_a, server_b = servers
    title = all_in_path()
    anonymous = Visitor()
    for server in servers:  # warm whatever either server caches
        anonymous.get(server, title)

    # A rating already there, from a member of server B: the numbers are a real average.
    first_member = sign_up(server_b, "early-bird")
    review(first_member, server_b, title, rating=10, text="Opening number of the year.")
    before = read_ratings(anonymous.get(server_a, title))
    assert (before.count, before.average) == (1, average_shown([10]))

    member = sign_up(server_a, "moose-fan")
    text = f"The water finale, seen on server A ({secrets.token_hex(4)})."
    review(member, server_a, title, rating=4, text=text)

    seen_on_b = read_ratings(anonymous.get(server_b, title))
    assert seen_on_b.count == before.count + 1
    assert seen_on_b.average == average_shown([10, 4])
    assert seen_on_b.by_stars["2"] == before.by_stars["2"] + 1
    assert text in seen_on_b.review_texts
    assert seen_on_b.own_review_text is None

    # The session server A made signs the member in on server B: both read it from the
    # shared database (and Redis, which caches sessions).
    own_on_b = read_ratings(member.get(server_b, title))
    assert own_on_b.signed_in_as == "moose-fan"
    assert own_on_b.own_review_text == text

    review(member, server_b, title, rating=7, text=text)
    seen_on_a = read_ratings(anonymous.get(server_a, title))
    assert seen_on_a.count == before.count + 1
    assert seen_on_a.average == average_shown([10, 7])
    assert seen_on_a.by_stars["2"] == before.by_stars["2"]
    assert seen_on_a.by_stars["3.5"] == before.by_stars["3.5"] + 1

    member.post_form(server_a, f"{title}review/delete/", {})
    after = read_ratings(anonymous.get(server_b, title))
    assert (after.count, after.average, after.by_stars) == (
        before.count,
        before.average,
        before.by_stars,
    )
    assert text not in after.review_texts
