"""No address answers 500, whatever a visitor puts in it.

The test walks the URL resolver itself, so a pattern added later is walked too: every path
parameter gets odd values chosen for its converter (an `int` is all digits, so it gets
numbers past 64 bits; a `str` or `path` gets NUL, control characters, dates out of range,
odd Unicode, 10,000 characters), and every page gets the same values in the query
parameters the views read. Visitors and members walk the whole site, staff the admin,
where each list's own filter parameters are asked one at a time (an unknown one only
sends the list to its "?e=1" error page, which would hide the rest).

Then the main forms are sent with the same kinds of values in each field: the answer is
a 4xx or a form error, never a 500, and a refused form stores nothing.

Run it on SQLite and on PostgreSQL: the databases refuse different things (PostgreSQL a
NUL in any text, SQLite an integer past 64 bits or a datetime past year 9999).
"""

import base64
import json
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from urllib.parse import quote

import pytest
from django.contrib.admin.views.main import ALL_VAR, ORDER_VAR, PAGE_VAR, SEARCH_VAR
from django.contrib.auth import get_user_model
from django.contrib.auth.tokens import default_token_generator
from django.contrib.contenttypes.models import ContentType
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.urls.resolvers import LocalePrefixPattern, RegexPattern, RoutePattern
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from reviews import services
from reviews.models import REVIEW_SORT_KEYS, Comment, HelpfulVote, Report, Review, RoutineRating
from tests.factories import (
    CastCreditFactory,
    CrewMembershipFactory,
    RoutineDancerFactory,
    RoutineFactory,
    StaffUserFactory,
    TitleFactory,
    TriviaFactory,
    UserFactory,
    review,
    routine_rating,
)

pytestmark = pytest.mark.django_db

# --- The values, percent-encoded as they travel in a URL ------------------------------------

NUL = "%00"
CONTROL_CHARACTERS = ["%01", "%1b", "%7f"]
BIG_NUMBERS = ["99999999999999999999", str(2**63), "-1"]
DATES = ["9999-12-31", "0000-00-00"]
ODD_UNICODE = [
    quote("\u202eevil.exe"),  # right-to-left override
    "%ED%A0%80",  # a lone surrogate, in the UTF-8 form no decoder accepts
    quote("e\u0301\u0301\u0301"),  # combining marks
    quote("💃🏽"),
    "x" * 10_000,
]
TEXT_VALUES = [NUL, *CONTROL_CHARACTERS, *BIG_NUMBERS, *DATES, *ODD_UNICODE]

# Path converters match only some characters: what gets past `int` and `slug` to the view
# is digits (past any column's range) and slugs; the rest is refused by the resolver
# itself, so one or two of those suffice to prove that.
VALUES_BY_CONVERTER = {
    "int": ["0", "99999999999999999999", str(2**63), str(2**63 - 1), "9" * 400, NUL, "-1"],
    "slug": ["99999999999999999999", "9999-12-31", "-", "_" * 10_000, NUL, "%1b"],
    "str": TEXT_VALUES,
    "path": [*TEXT_VALUES, "a/b", "..", "%2F"],
}

# What the site's views read from the query string, and what the admin reads besides.
SITE_QUERY_PARAMETERS = [
    *("sort", "page", "after", "before", "q", "next", "kind", "format"),
    *("title", "crew", "best"),  # the routine leaderboard's filters
]
ADMIN_QUERY_PARAMETERS = [SEARCH_VAR, ORDER_VAR, PAGE_VAR, ALL_VAR, "status", "e", "_to_field"]
# The admin, walked by staff only, with fewer values (each of a list's parameters is asked
# alone): the ones that reach a database column in a form it may refuse.
ADMIN_VALUES = [NUL, "%1b", "99999999999999999999", "-1", *DATES]


def cursor(*fields):
    return base64.urlsafe_b64encode(json.dumps(list(fields)).encode()).decode()


# Review-list cursors, each read with its sort's columns: a datetime that overflows when
# converted to UTC, integers past 64 bits. tests/reviews/test_pagination.py has the rest.
CRAFTED_CURSORS = [
    ("newest", "after", cursor(1, "9999-12-31T23:59:59-14:00", 1)),
    ("newest", "before", cursor(1, "2025-01-01T00:00:00Z", 2**64)),
    ("helpful", "after", cursor(2**70, 2**63, "2025-01-01T00:00:00Z", 1)),
    ("helpful", "before", cursor(1, 0, "0001-01-01T00:00:00+14:00", 1)),
    ("highest", "after", cursor(1, -(2**64), None, 1)),
    ("highest", "before", cursor(1, 10, "9999-12-31T23:59:59-14:00", 1)),
    ("lowest", "after", cursor(True, 1, 1.5, "1")),
    ("lowest", "before", cursor(1, 1, "9999-12-31T23:59:59-14:00", 2**63)),
]
assert {sort for sort, _, _ in CRAFTED_CURSORS} == set(REVIEW_SORT_KEYS)


def site_queries():
    """Each odd value in every parameter at once (the site's views ignore what they do
    not read and fall back on a value they cannot use), then the crafted cursors."""
    for value in TEXT_VALUES:
        yield "&".join(f"{name}={value}" for name in SITE_QUERY_PARAMETERS)
    for sort, direction, crafted in CRAFTED_CURSORS:
        yield f"sort={sort}&{direction}={crafted}"


# --- The resolver, walked --------------------------------------------------------------------

ROUTE_PARAMETER = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<name>[^>]+)>")
REGEX_GROUP = re.compile(r"\(\?P<(?P<name>\w+)>(?:[^()]|\([^()]*\))*\)")


@dataclass
class Pattern:
    """One URL pattern, its route as literal text and parameters, and what it belongs to."""

    name: str
    parts: list  # literal strings, and (parameter name, converter) pairs
    model_admin: object = None

    @property
    def parameters(self):
        return [part for part in self.parts if isinstance(part, tuple)]

    @property
    def is_admin(self):
        return self.name.startswith("admin:")

    def url(self, values):
        return "/" + "".join(
            part if isinstance(part, str) else values[part[0]] for part in self.parts
        )


def _parts(pattern):
    if isinstance(pattern, LocalePrefixPattern):
        return []  # the English addresses; Spanish ones differ only by the /es/ prefix
    if isinstance(pattern, RoutePattern):
        route, pieces, position = str(pattern), [], 0
        for match in ROUTE_PARAMETER.finditer(route):
            pieces.append(route[position : match.start()])
            pieces.append((match["name"], match["converter"] or "str"))
            position = match.end()
        return [*pieces, route[position:]]
    assert isinstance(pattern, RegexPattern), pattern
    regex, pieces, position = pattern.regex.pattern.lstrip("^").rstrip("$"), [], 0
    for match in REGEX_GROUP.finditer(regex):
        pieces.append(re.sub(r"\\(.)", r"\1", regex[position : match.start()]))
        pieces.append((match["name"], "path"))
        position = match.end()
    return [*pieces, re.sub(r"\\(.)", r"\1", regex[position:])]


def every_pattern(patterns=None, prefix=(), namespaces=()):
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(entry, URLResolver):
            inner = (*namespaces, entry.namespace) if entry.namespace else namespaces
            yield from every_pattern(entry.url_patterns, (*prefix, *_parts(entry.pattern)), inner)
        else:
            assert isinstance(entry, URLPattern)
            yield Pattern(
                name=":".join((*namespaces, entry.name or "")),
                parts=[*prefix, *_parts(entry.pattern)],
                model_admin=getattr(entry.callback, "model_admin", None),
            )


# --- The site, with something behind every pattern ------------------------------------------


@pytest.fixture
def world(settings):
    # Many requests from one member and one address: limits would answer 429 before the
    # view could meet the value under test.
    settings.RATELIMIT_ENABLE = False
    settings.AXES_ENABLED = False
    member = UserFactory(username="walker")
    staff = StaffUserFactory(username="staffwalker")
    author = UserFactory(username="author")
    # An editor may save a control character in a name (the admin's forms take them): every
    # page and feed must still come out.
    title = TitleFactory(name="Step Up\x1b Revolution\x0c")
    credit = CastCreditFactory(title=title)
    membership = CrewMembershipFactory(title=title, person=credit.person)
    routine = RoutineFactory(title=title, crews=[membership.crew], name="Finale\x1b")
    RoutineDancerFactory(routine=routine, person=credit.person, character=credit.character)
    routine_rating(routine=routine, member=author, rating=7)
    TriviaFactory(title=title)
    written = review(title=title, author=author, headline="Sharp\x08", body="Sharp\x1b moves.")
    review(title=title, author=member, body="Mine.")
    comment = services.comment_create(review=written, author=member, body="Agreed.")
    services.report_create(reporter=member, review=written, reason="spam", note="")
    HelpfulVote.objects.create(review=written, voter=member)
    return {
        "member": member,
        "staff": staff,
        "author": author,
        "title": title,
        "person": credit.person,
        "character": credit.character,
        "crew": membership.crew,
        "review": written,
        "comment": comment,
        "routine": routine,
    }


def valid_values(pattern, world):
    """Values that reach the view's own code: an object that exists, for each parameter."""
    title, member = world["title"], world["member"]
    by_name = {
        "films:person_detail": {"slug": world["person"].slug},
        "films:character_detail": {"slug": world["character"].slug},
        "films:crew_detail": {"slug": world["crew"].slug},
        "films:routine_detail": {"slug": world["routine"].slug},
        "reviews:routine_rate": {"slug": world["routine"].slug},
        "reviews:routine_rating_remove": {"slug": world["routine"].slug},
        "accounts:profile": {"username": world["author"].username},
        "reviews:comment_edit": {"pk": world["comment"].pk},
        "reviews:comment_delete": {"pk": world["comment"].pk},
        "reviews:comment_report": {"pk": world["comment"].pk},
        "admin:view_on_site": {
            "content_type_id": ContentType.objects.get_for_model(Review).pk,
            "object_id": world["review"].pk,
        },
        "admin:app_list": {"app_label": "reviews"},
        "password_reset_confirm": {
            "uidb64": urlsafe_base64_encode(force_bytes(member.pk)),
            "token": default_token_generator.make_token(member),
        },
    }
    defaults = {"slug": title.slug, "pk": world["review"].pk, "username": member.username}
    if pattern.model_admin is not None:
        first = pattern.model_admin.model._default_manager.order_by("pk").first()
        defaults["object_id"] = first.pk if first else 1
    defaults["id"] = member.pk
    values = {**defaults, **by_name.get(pattern.name, {})}
    return {name: str(values.get(name, "nowhere")) for name, _ in pattern.parameters}


@dataclass
class Walk:
    client: Client
    failures: list = field(default_factory=list)
    statuses: defaultdict = field(default_factory=lambda: defaultdict(set))  # per path

    def get(self, url):
        response = self.client.get(url)
        self.statuses[url.split("?", 1)[0]].add(response.status_code)
        if response.status_code >= 500:
            error = response.exc_info[1] if response.exc_info else None
            self.failures.append(f"{response.status_code} {url[:150]} {error!r}"[:300])
        return response


def walker(user=None):
    client = Client(raise_request_exception=False)
    if user is not None:
        client.force_login(user)
    return Walk(client)


def walk_path_parameters(walk, pattern, world, values=None):
    valid = valid_values(pattern, world)
    for name, converter in pattern.parameters:
        for value in values or VALUES_BY_CONVERTER.get(converter, TEXT_VALUES):
            walk.get(pattern.url({**valid, name: value}))


def admin_list_parameters(walk, url):
    """What an admin list reads: its filters' own parameters and the list's."""
    response = walk.get(url)
    assert response.status_code == 200, url
    change_list = response.context["cl"]
    names = set(ADMIN_QUERY_PARAMETERS)
    for spec in change_list.filter_specs:
        names.update(spec.expected_parameters())
        if hasattr(spec, "field_path"):
            names.add(spec.field_path)  # a bare field name is a lookup the admin allows
    if change_list.date_hierarchy:
        names.update(f"{change_list.date_hierarchy}__{part}" for part in ("year", "month", "day"))
    return sorted(names)


@pytest.mark.slow  # every address, each with every odd value
@pytest.mark.parametrize("who", ["visitor", "member"])
def test_no_address_on_the_site_answers_500_to_odd_values(world, who):
    walk = walker(world["member"] if who == "member" else None)
    for pattern in every_pattern():
        if pattern.is_admin and pattern.name != "admin:login":
            continue  # staff walk the admin, below; anyone else is sent to sign in
        walk_path_parameters(walk, pattern, world)
        url = pattern.url(valid_values(pattern, world))
        for query in site_queries():
            walk.get(f"{url}?{query}")
    assert not walk.failures, "\n".join(walk.failures)
    # Not blind: the pages with something to show showed it whatever the query (but NUL).
    for page in [
        world["title"],
        world["review"],
        world["person"],
        world["author"],
        world["routine"],
    ]:
        assert walk.statuses[page.get_absolute_url()] == {200, 400}


@pytest.mark.slow  # every admin page and list filter, each with every odd value
def test_no_admin_page_answers_500_to_odd_values(world):
    walk = walker(world["staff"])
    patterns = [pattern for pattern in every_pattern() if pattern.is_admin]
    assert any(pattern.name.endswith("_changelist") for pattern in patterns)
    for pattern in patterns:
        walk_path_parameters(walk, pattern, world, ADMIN_VALUES)
        url = pattern.url(valid_values(pattern, world))
        names = (
            admin_list_parameters(walk, url)
            if pattern.name.endswith("_changelist")
            else [*ADMIN_QUERY_PARAMETERS, "_changelist_filters", "_popup", "next"]
        )
        for value in ADMIN_VALUES:
            if pattern.name.endswith("_changelist"):
                for name in names:
                    walk.get(f"{url}?{name}={value}")
            else:
                walk.get(f"{url}?" + "&".join(f"{name}={value}" for name in names))
    assert not walk.failures, "\n".join(walk.failures)


def test_the_walk_finds_a_500_where_there_is_one(world, settings):
    """The walk is not blind: a view that fails is found among every other pattern."""
    settings.ROOT_URLCONF = "tests.broken_urls"
    walk = walker()
    patterns = list(every_pattern())
    assert {"films:title_detail", "reviews:detail", "accounts:profile", "admin:app_list"} <= {
        pattern.name for pattern in patterns
    }
    for pattern in patterns:
        if not pattern.parameters:
            walk.get(pattern.url({}))
    assert [failure.split()[:2] for failure in walk.failures] == [["500", "/broken/"]]


# --- The forms --------------------------------------------------------------------------------

FORM_VALUES = ["a\x00b", "\x01\x1b\x7f", "99999999999999999999", str(2**63), "-1"]


def stored_rows():
    """How many rows each table members write to holds."""
    return {
        model._meta.label: model._default_manager.count()
        for model in (Review, Comment, Report, HelpfulVote, RoutineRating, get_user_model())
    }


def form_posts(world):
    """(url, the valid fields, who sends them) for each main form."""
    written, comment = world["review"], world["comment"]
    return [
        (
            reverse("reviews:edit", kwargs={"slug": TitleFactory().slug}),
            {"rating": "7", "headline": "Fine", "body": "Fine moves.", "contains_spoilers": ""},
            "member",
        ),
        (reverse("reviews:comment_create", kwargs={"pk": written.pk}), {"body": "Yes."}, "member"),
        (reverse("reviews:comment_edit", kwargs={"pk": comment.pk}), {"body": "Edited."}, "member"),
        (
            reverse("reviews:report", kwargs={"pk": written.pk}),
            {"reason": "spam", "note": "Odd."},
            "staff",
        ),
        (reverse("reviews:helpful", kwargs={"pk": written.pk}), {"next": "/"}, "staff"),
        (
            reverse("reviews:routine_rate", kwargs={"slug": world["routine"].slug}),
            {"rating": "8"},
            "member",
        ),
        (
            reverse("accounts:signup"),
            {
                "username": "newcomer{n}",
                "email": "newcomer{n}@example.com",
                "password1": "a-long-enough-password",
                "password2": "a-long-enough-password",
                "extra_details": "",
                "next": "/titles/",
            },
            None,
        ),
        (reverse("login"), {"username": "walker", "password": "a-long-enough-password"}, None),
    ]


@pytest.mark.slow  # every field of every main form, each with every odd value
def test_no_main_form_answers_500_or_stores_half_of_a_refused_post(world):
    failures = []
    answers = Counter()
    number = 0
    for url, valid, who in form_posts(world):
        client = Client(raise_request_exception=False)
        if who:
            client.force_login(world[who])
        for name in valid:
            for value in FORM_VALUES:
                number += 1
                data = {key: text.format(n=number) for key, text in valid.items()}
                data[name] = value
                before = stored_rows()
                response = client.post(url, data)
                answers[response.status_code // 100] += 1
                where = f"{url} {name}={value!r}"
                if response.status_code >= 500:
                    failures.append(f"{response.status_code} {where} {response.exc_info[1]!r}")
                elif response.status_code >= 400 and stored_rows() != before:
                    failures.append(f"{response.status_code} but stored: {where}")
                if who is None:
                    client.logout()  # signed up or in: the next post is a visitor's again
    assert not failures, "\n".join(failures)
    # Both kinds of answer, so the posts did reach the forms: odd text a form takes (control
    # characters in a review) is stored, and the rest is refused.
    assert answers[3] and answers[4]
