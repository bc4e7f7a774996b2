"""Caching that never shows a stale page (core/caching.py, reviews/title_section.py).

These run with the cache on, as in production: a local-memory page cache with the content
version in the database on the SQLite pass, Redis for both on the PostgreSQL pass.
"""

import re
import threading
import time

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client, RequestFactory
from django.test.signals import template_rendered
from django.urls import reverse

from accounts import services as account_services
from core import slots
from films.models import Routine, RoutineDancer
from reviews import moderation, services
from reviews.pagination import page_url
from tests.factories import (
    CastCreditFactory,
    CharacterFactory,
    CrewCreditFactory,
    CrewFactory,
    CrewMembershipFactory,
    PersonFactory,
    RoutineDancerFactory,
    RoutineFactory,
    TitleFactory,
    UserFactory,
    review,
    routine_rating,
)
from tests.html import (
    ReviewList,
    assert_valid_accessible_page,
    element,
    element_text,
    page_text,
    parse,
    section_text,
    text_of,
)

pytestmark = pytest.mark.django_db

# Reading the content version costs a query when it lives in the database (the embedded
# default) and none when it lives in Redis.
VERSION_READS = 0 if settings.CONTENT_VERSION_CACHE else 1
# Reading a session costs a query unless sessions are cached (in Redis).
SESSION_READS = 0 if settings.SESSION_ENGINE.endswith("cached_db") else 1


@pytest.fixture
def title():
    return TitleFactory(name="Step Up: All In", slug="step-up-all-in")


def test_a_visitor_gets_the_page_from_the_cache_the_second_time(client, title):
    first = client.get(title.get_absolute_url())
    second = client.get(title.get_absolute_url())
    assert first["X-Page-Cache"] == "miss" and second["X-Page-Cache"] == "hit"
    assert first.content == second.content
    assert second["Content-Type"] == "text/html; charset=utf-8"


@pytest.mark.parametrize("number_of_reviews", [10, pytest.param(250, marks=pytest.mark.slow)])
def test_a_cached_title_page_costs_at_most_the_version_read_at_any_size_and_depth(
    client, title, django_assert_num_queries, number_of_reviews
):
    for author in UserFactory.create_batch(number_of_reviews):
        review(title=title, author=author, body="Words", rating=1 + author.pk % 10)
    deepest = page_url(title, sort="lowest", page=number_of_reviews // 20 or 1)
    for url in (title.get_absolute_url(), deepest):
        client.get(url)
        with django_assert_num_queries(VERSION_READS):
            assert client.get(url)["X-Page-Cache"] == "hit"


def test_a_new_review_shows_at_once_on_every_page_that_shows_it(client, title):
    author = UserFactory(username="krumpqueen")
    pages = [
        title.get_absolute_url(),
        reverse("films:home"),
        reverse("films:title_list"),
        reverse("reviews:rss"),
        author.get_absolute_url(),
    ]
    before = {url: client.get(url) for url in pages}
    assert "Fresh from the floor" not in page_text(before[pages[0]])
    review(title=title, author=author, rating=9, body="Fresh from the floor")
    for url in pages:
        response = client.get(url)
        assert response["X-Page-Cache"] == "miss", url
    response = client.get(title.get_absolute_url())
    assert "Fresh from the floor" in element_text(response, "reviews")
    assert element_text(response, "rating-count") == "1 rating"


def test_votes_comments_and_moderation_refresh_the_cached_page(client, title):
    written = review(title=title, body="Worth a vote")
    url = title.get_absolute_url()
    client.get(url)
    services.helpful_vote_toggle(review=written, voter=UserFactory())
    card = f"review-{written.pk}"
    assert "1 person found this helpful" in element_text(client.get(url), card)
    services.comment_create(review=written, author=UserFactory(), body="Agreed")
    assert re.search(r"\b1 comment\b", element_text(client.get(url), card))
    moderator = UserFactory(is_staff=True)
    moderation.content_moderate(item=written, status="removed", moderator=moderator, reason="Spam")
    assert "Worth a vote" not in page_text(client.get(url))


@pytest.fixture
def catalog(title):
    """Step Up with a dancer in its cast and a crew, All In with a routine of that crew."""
    other = TitleFactory(name="Step Up", slug="step-up")
    credit = CastCreditFactory(title=other)
    line_up = CrewMembershipFactory(title=other, person=credit.person)
    RoutineFactory(title=title, crews=[line_up.crew])
    return {"other": other, "person": credit.person, "crew": line_up.crew, "credit": credit}


def _warm(client, urls):
    for url in urls:
        client.get(url)
        assert client.get(url)["X-Page-Cache"] == "hit", url


def test_writes_to_one_titles_reviews_leave_every_other_title_people_and_lists_warm(
    client, title, catalog, renders
):
    other, person = catalog["other"], catalog["person"]
    warm = [
        other.get_absolute_url(),
        person.get_absolute_url(),
        catalog["credit"].character.get_absolute_url(),
        catalog["crew"].get_absolute_url(),
        reverse("films:person_list"),
        reverse("films:character_list"),
        reverse("films:crew_list"),
        reverse("films:search") + "?q=step",
        reverse("sitemap"),
        reverse("reviews:title_rss", kwargs={"slug": other.slug}),
    ]
    _warm(client, [*warm, title.get_absolute_url(), reverse("films:title_list")])
    written = review(title=title, author=UserFactory(), body="A new review of All In")
    services.helpful_vote_toggle(review=written, voter=UserFactory())
    services.comment_create(review=written, author=UserFactory(), body="Agreed")
    del renders[:]
    for url in warm:
        assert client.get(url)["X-Page-Cache"] == "hit", url
    assert renders == []  # not one template rendered again
    page = client.get(title.get_absolute_url())
    assert page["X-Page-Cache"] == "miss" and "A new review of All In" in page_text(page)
    assert "films/title_detail.html" in renders
    # The title list shows every title's average: a new rating is on it at once.
    assert client.get(reverse("films:title_list"))["X-Page-Cache"] == "miss"


def test_a_review_re_renders_its_titles_reviews_but_not_the_catalog_part(
    client, title, catalog, renders
):
    _warm(client, [title.get_absolute_url()])
    review(title=title, author=UserFactory(), body="Another review of All In")
    del renders[:]
    page = client.get(title.get_absolute_url())
    assert "Another review of All In" in page_text(page)
    assert "films/title_detail.html" in renders
    # Cast, crews, routines and trivia: from the cache, however many reviews come in.
    assert "films/_title_facts.html" not in renders
    assert "films/_title_sections.html" not in renders
    # A catalog edit of the title does reach it.
    title.synopsis = "A new synopsis"
    title.save()
    assert "A new synopsis" in page_text(client.get(title.get_absolute_url()))
    assert "films/_title_facts.html" in renders


def test_a_vote_or_comment_leaves_the_title_list_warm(client, title, renders):
    written = review(title=title, body="Worth a vote")
    _warm(client, [reverse("films:title_list")])
    services.helpful_vote_toggle(review=written, voter=UserFactory())
    services.comment_create(review=written, author=UserFactory(), body="Agreed")
    del renders[:]
    assert client.get(reverse("films:title_list"))["X-Page-Cache"] == "hit"
    assert renders == []


def test_a_catalog_edit_makes_only_the_pages_that_show_that_record_stale(
    client, title, catalog, renders
):
    other, person, crew = catalog["other"], catalog["person"], catalog["crew"]
    unrelated = CastCreditFactory(title=title)  # All In's cast: not this dancer
    showing = [  # the dancer's page, the title and crew pages that name them, the lists
        person.get_absolute_url(),
        other.get_absolute_url(),
        crew.get_absolute_url(),
        catalog["credit"].character.get_absolute_url(),
        reverse("films:person_list"),
        reverse("films:search") + "?q=dancer",
    ]
    not_showing = [
        title.get_absolute_url(),
        unrelated.person.get_absolute_url(),
        unrelated.character.get_absolute_url(),
        reverse("films:home"),
        reverse("reviews:rss"),
    ]
    _warm(client, showing + not_showing)
    person.name = "Renamed Dancer"
    person.save()
    del renders[:]
    for url in not_showing:
        assert client.get(url)["X-Page-Cache"] == "hit", url
    assert renders == []
    for url in showing:
        response = client.get(url)
        assert response["X-Page-Cache"] == "miss", url
        assert "Renamed Dancer" in page_text(response), url
    # The crew dances a routine in All In: a crew edit reaches All In's page too.
    crew.name = "Renamed Crew"
    crew.save()
    assert "Renamed Crew" in page_text(client.get(title.get_absolute_url()))
    assert client.get(unrelated.person.get_absolute_url())["X-Page-Cache"] == "hit"


def test_a_title_edit_reaches_its_reviewers_profiles_and_a_routine_line_up_its_crew(
    client, title, catalog
):
    author = UserFactory(username="krumpqueen")
    review(title=title, author=author, body="Words")
    crew, other = catalog["crew"], catalog["other"]
    _warm(client, [author.get_absolute_url(), crew.get_absolute_url()])
    title.name = "Step Up: All In (Renamed)"
    title.save()
    assert "All In (Renamed)" in page_text(client.get(author.get_absolute_url()))
    _warm(client, [crew.get_absolute_url(), other.get_absolute_url()])
    RoutineFactory(title=other, name="The Final Battle", crews=[crew])
    assert "The Final Battle" in page_text(client.get(crew.get_absolute_url()))
    assert "The Final Battle" in page_text(client.get(other.get_absolute_url()))


@pytest.fixture
def returning(title):
    """Moose in All In's cast; Step Up 2 and Step Up 3D before it, Moose in neither yet;
    Step Up Revolution, sharing no character with All In."""
    earlier = TitleFactory(name="Step Up 2: The Streets", slug="step-up-2", franchise_position=2)
    middle = TitleFactory(name="Step Up 3D", slug="step-up-3d", franchise_position=3)
    unrelated = TitleFactory(name="Step Up Revolution", slug="revolution", franchise_position=4)
    CastCreditFactory(title=unrelated)
    moose = CastCreditFactory(title=title, character__name="Moose").character
    return {"earlier": earlier, "middle": middle, "unrelated": unrelated, "moose": moose}


def test_a_credit_in_an_earlier_title_refreshes_a_later_titles_returning_characters(
    client, title, returning, renders
):
    earlier, unrelated = returning["earlier"], returning["unrelated"]
    actor = PersonFactory()
    _warm(client, [title.get_absolute_url(), unrelated.get_absolute_url()])
    credit = CastCreditFactory(title=earlier, character=returning["moose"], person=actor)
    page = client.get(title.get_absolute_url())
    assert page["X-Page-Cache"] == "miss"
    assert "Moose, from Step Up 2: The Streets" in section_text(page, "returning-heading")
    # A title sharing no character with it keeps its copy.
    del renders[:]
    assert client.get(unrelated.get_absolute_url())["X-Page-Cache"] == "hit"
    assert renders == []
    # And when the credit goes, so does the section.
    credit.delete()
    assert "returning-heading" not in client.get(title.get_absolute_url()).content.decode()


def test_a_renamed_or_moved_earlier_title_shows_at_once_where_characters_return_from_it(
    client, title, returning
):
    earlier, middle = returning["earlier"], returning["middle"]
    CastCreditFactory(title=earlier, character=returning["moose"])
    _warm(client, [title.get_absolute_url()])
    earlier.name = "Step Up 2: The Streets (Renamed)"
    earlier.save()
    section = section_text(client.get(title.get_absolute_url()), "returning-heading")
    assert "from Step Up 2: The Streets (Renamed)" in section
    # In the middle title too, once Moose is in it; and moved after All In, Step Up 3D is
    # no longer a title Moose returns from.
    CastCreditFactory(title=middle, character=returning["moose"])
    _warm(client, [title.get_absolute_url(), middle.get_absolute_url()])
    middle.franchise_position = title.franchise_position + 1
    middle.save()
    section = section_text(client.get(title.get_absolute_url()), "returning-heading")
    assert "Moose, from Step Up 2: The Streets (Renamed)" in section
    assert "Step Up 3D" not in section
    assert "Moose, from Step Up 2" in section_text(
        client.get(middle.get_absolute_url()), "returning-heading"
    )


def test_a_cast_credit_refreshes_the_timeline_and_a_crew_credit_leaves_it_warm(
    client, title, returning
):
    timeline = reverse("films:character_list")
    director, actor = PersonFactory(), PersonFactory(name="Adam Sevani")
    _warm(client, [timeline])
    CrewCreditFactory(title=title, person=director)  # on no row of the timeline
    assert client.get(timeline)["X-Page-Cache"] == "hit"
    CastCreditFactory(title=returning["earlier"], character=returning["moose"], person=actor)
    page = client.get(timeline)
    assert page["X-Page-Cache"] == "miss"
    (moose,) = [row for row in parse(page).iter("tr") if text_of(row).startswith("Moose ")]
    assert "Adam Sevani in Step Up 2: The Streets" in text_of(moose)


def test_a_new_or_renamed_title_reaches_every_characters_timeline(client, title, returning):
    moose = returning["moose"].get_absolute_url()
    _warm(client, [moose])
    returning["unrelated"].name = "Step Up Revolution (Renamed)"
    returning["unrelated"].save()  # a title Moose is not in: still on his timeline
    assert "Step Up Revolution (Renamed)" in section_text(client.get(moose), "timeline-heading")
    _warm(client, [moose])
    TitleFactory(name="Step Up: Year of the Dance", franchise_position=99)
    assert "Step Up: Year of the Dance" in section_text(client.get(moose), "timeline-heading")


def test_a_renamed_routine_shows_at_once_on_the_page_of_a_character_who_dances_it(
    client, title, returning
):
    moose = returning["moose"]
    routine = RoutineFactory(title=title, name="The Las Vegas finale")
    RoutineDancer.objects.create(
        routine=routine, person=moose.credits.get().person, character=moose
    )
    _warm(client, [moose.get_absolute_url()])
    routine.name = "The Vortex finale"
    routine.save()
    assert "The Vortex finale" in section_text(
        client.get(moose.get_absolute_url()), "routines-danced-heading"
    )


@pytest.mark.django_db(transaction=True)
def test_a_stale_hot_page_is_rendered_by_one_request_while_the_others_get_the_stale_copy(
    title, renders
):
    """Requests in threads, each with its own database connection: the one that takes the
    page's render lock is held inside its render until the others have all been answered."""
    from django.db import connections

    url = title.get_absolute_url()
    review(title=title, body="The first review")
    _warm(Client(), [url])
    review(title=title, body="A newer review")  # the page is stale now
    rendering, release = threading.Event(), threading.Event()
    page_renders = []

    def hold_the_render(sender, template, **kwargs):
        if template.name == "films/title_detail.html":
            page_renders.append(template.name)
            if len(page_renders) == 1:  # the first render only: no other is held
                rendering.set()
                release.wait(timeout=10)

    answers = {}

    def get(name):
        try:
            answers[name] = Client().get(url)
        finally:
            connections.close_all()

    template_rendered.connect(hold_the_render, dispatch_uid="test-caching-hold")
    try:
        renderer = threading.Thread(target=get, args=("renderer",))
        renderer.start()
        assert rendering.wait(timeout=10)
        others = [threading.Thread(target=get, args=(n,)) for n in range(8)]
        for thread in others:
            thread.start()
        deadline = time.monotonic() + 5
        for thread in others:
            thread.join(timeout=max(0, deadline - time.monotonic()))
        # All answered while the render is still held: none waited on it.
        assert not any(thread.is_alive() for thread in others)
        assert renderer.is_alive()
    finally:
        release.set()
        template_rendered.disconnect(dispatch_uid="test-caching-hold")
        renderer.join(timeout=10)
    assert len(page_renders) == 1
    assert answers["renderer"]["X-Page-Cache"] == "miss"
    assert "A newer review" in page_text(answers["renderer"])
    for n in range(8):
        assert answers[n]["X-Page-Cache"] == "stale"
        assert "A newer review" not in page_text(answers[n])
    fresh = Client().get(url)
    assert fresh["X-Page-Cache"] == "hit" and "A newer review" in page_text(fresh)


def test_a_catalog_edit_in_the_admin_shows_at_once(client, title):
    credit = CastCreditFactory(title=title)
    client.get(title.get_absolute_url())
    credit.person.name = "Renamed Dancer"
    credit.person.save()
    assert "Renamed Dancer" in page_text(client.get(title.get_absolute_url()))


def test_pages_for_members_and_pages_with_forms_are_never_stored_whole(client, title):
    assert "X-Page-Cache" not in client.get(reverse("login"))  # under /accounts/: skipped
    assert "X-Page-Cache" not in client.get(reverse("healthz"))
    member = UserFactory()
    client.force_login(member)
    for _ in range(2):
        assert "X-Page-Cache" not in client.get(title.get_absolute_url())


def test_a_signing_in_does_not_make_pages_stale(client, title):
    member = UserFactory(password="a long password for tests")
    url = title.get_absolute_url()
    client.get(url)
    signing_in = Client()
    signing_in.post(
        reverse("login"), {"username": member.username, "password": "a long password for tests"}
    )
    assert signing_in.session["_auth_user_id"] == str(member.pk)
    assert client.get(url)["X-Page-Cache"] == "hit"


def test_each_member_sees_their_own_marks_on_the_shared_list(title):
    reviewed = [review(title=title, body=f"review {n}") for n in range(3)]
    ana, ben = UserFactory(username="ana"), UserFactory(username="ben")
    services.helpful_vote_toggle(review=reviewed[0], voter=ana)
    services.helpful_vote_toggle(review=reviewed[1], voter=ben)
    own = review(title=title, author=ben, body="ben's own words")

    def pressed(html):
        return {
            int(pk) for pk in re.findall(r'btn-dark" aria-pressed="true" data-review="(\d+)"', html)
        }

    for member, voted in ((ana, {reviewed[0].pk}), (ben, {reviewed[1].pk})):
        reader = Client(enforce_csrf_checks=True)
        reader.force_login(member)
        for _ in range(2):  # the second time from the shared copy
            html = reader.get(title.get_absolute_url()).content.decode()
            assert pressed(html) == voted
        # The token written into the shared copy is this reader's: the vote form works.
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)
        target = reviewed[2]
        response = reader.post(
            reverse("reviews:helpful", kwargs={"pk": target.pk}),
            {"csrfmiddlewaretoken": token},
        )
        assert response.status_code == 302
        assert target.helpful_votes.filter(voter=member).exists()
    ben_page = ReviewList(_as(ben).get(title.get_absolute_url()))
    assert own.pk not in ben_page.review_ids  # at the top instead, with a pointer here
    ana_page = ReviewList(_as(ana).get(title.get_absolute_url()))
    assert own.pk in ana_page.review_ids


def _as(member):
    reader = Client()
    reader.force_login(member)
    return reader


def test_a_signed_in_title_page_from_the_shared_copy_has_a_fixed_query_count(
    title, django_assert_num_queries
):
    for author in UserFactory.create_batch(30):
        review(title=title, author=author, body="Words", rating=1 + author.pk % 10)
    # Created first: a new account is a write, which would make every cached part stale.
    first_visitors = UserFactory.create_batch(2)
    reader = _as(UserFactory())
    reader.get(title.get_absolute_url())
    deep = page_url(title, sort="newest", page=2)
    reader.get(deep)
    # The session (from Redis when sessions are cached there), the user, the content
    # version, and one statement for the reader's marks on the page and whether they have
    # a review of the title (reviews.selectors.reader_marks). The title, its catalog, the
    # page and its cards come from the cache.
    expected = SESSION_READS + 1 + VERSION_READS + 1
    for url, member in zip((title.get_absolute_url(), deep), first_visitors, strict=True):
        first_visit = _as(member)
        with django_assert_num_queries(expected):
            response = first_visit.get(url)
        assert response.status_code == 200


def test_the_version_lives_where_every_app_server_sees_it(
    title, django_capture_on_commit_callbacks
):
    from core.caching import content_changed, scope_versions
    from core.models import ContentVersion

    before = scope_versions(RequestFactory().get("/"), [f"title:{title.pk}"])
    with django_capture_on_commit_callbacks(execute=True):
        content_changed(f"title:{title.pk}")
    if settings.CONTENT_VERSION_CACHE:
        # Never a per-process local-memory cache: another worker would not see a write.
        assert "locmem" not in settings.CACHES[settings.CONTENT_VERSION_CACHE]["BACKEND"]
        assert not ContentVersion.objects.exists()
    else:
        # A row of the site's database, which every process reads.
        stored = ContentVersion.objects.get(scope=f"title:{title.pk}").version
        assert stored not in before
        assert stored in scope_versions(RequestFactory().get("/"), [f"title:{title.pk}"])


def test_the_shared_member_page_is_each_members_own_page(title):
    review(title=title, body="someone else's words")
    ana, ben = UserFactory(username="ana"), UserFactory(username="ben<&>")
    review(title=title, author=ben, body="ben's own words", rating=7)
    pages = {}
    for member in (ana, ben, ana):  # ana twice: the second time from the shared copy
        reader = Client(enforce_csrf_checks=True)
        reader.force_login(member)
        pages[member.username] = (reader, reader.get(title.get_absolute_url()).content.decode())
    reader, html = pages["ana"]
    assert_valid_accessible_page(html)
    assert '<a class="nav-link text-truncate member-name" href="/members/ana/">ana</a>' in html
    assert "Rate and review Step Up: All In" in element_text(html, "your-review")
    assert ">Rate or review</a>" in html
    assert "ben's own words" in element_text(html, "reviews") and 'id="own-review"' not in html
    # The review form in the shared copy carries ana's own token: posting it works.
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)
    response = reader.post(
        reverse("reviews:edit", kwargs={"slug": title.slug}),
        {"csrfmiddlewaretoken": token, "rating": 8, "body": "ana's words"},
    )
    assert response.status_code == 302
    _, html = pages["ben<&>"]
    assert 'href="/members/ben%3C&amp;%3E/">ben&lt;&amp;&gt;</a>' in html
    assert slots._prefix(settings.SECRET_KEY) not in html  # every slot filled
    assert 'id="own-review"' in html and ">Your review</a>" in html
    assert "Rate and review" not in page_text(html)


def test_a_new_secret_key_never_serves_a_copy_made_with_the_old_one(title, settings):
    member = UserFactory(username="ana")
    reader = _as(member)
    reader.get(title.get_absolute_url())  # the shared copy, with the old key's slots
    old_key = settings.SECRET_KEY
    settings.SECRET_KEY_FALLBACKS = [old_key]  # ana stays signed in
    settings.SECRET_KEY = "a-rotated-secret-key-" + "k3y" * 20
    html = reader.get(title.get_absolute_url()).content.decode()
    assert '">ana</a>' in html
    for key in (old_key, settings.SECRET_KEY):
        assert slots._prefix(key) not in html


# --- A member's page, from the copy shared by members (reviews.title_section) -------------


def _reopened(reader, url):
    """The page, opened three times as a browser would (the first answer sets the CSRF
    cookie): the shared copy serves the later ones."""
    answers = [reader.get(url) for _ in range(3)]
    assert all(answer.status_code == 200 for answer in answers)
    return answers


def test_a_members_page_is_never_shown_to_another_member_or_a_visitor(title):
    ana, ben = UserFactory(username="ana"), UserFactory(username="ben")
    _reopened(_as(ana), title.get_absolute_url())
    ben_html = _as(ben).get(title.get_absolute_url()).content.decode()
    assert '">ben</a>' in ben_html and '">ana</a>' not in ben_html
    visitor_html = Client().get(title.get_absolute_url()).content.decode()
    assert '">ana</a>' not in visitor_html and "Sign in" in page_text(visitor_html)


def test_a_members_own_review_vote_and_edit_show_at_once_on_their_page(title):
    member = UserFactory(username="ana")
    other = review(title=title, body="someone else's words")
    reader = _as(member)
    _reopened(reader, title.get_absolute_url())
    edit = reverse("reviews:edit", kwargs={"slug": title.slug})
    reader.post(edit, {"rating": 6, "body": "First version of ana's review"})
    reader.post(reverse("reviews:helpful", kwargs={"pk": other.pk}))
    reader.get(title.get_absolute_url())  # shows the "posted" message: not stored
    html = reader.get(title.get_absolute_url()).content.decode()
    assert "First version of ana's review" in element_text(html, "own-review")
    assert f'aria-pressed="true" data-review="{other.pk}"' in html
    reader.post(edit, {"rating": 6, "body": "Second version of ana's review"})
    reader.get(title.get_absolute_url())  # the message again
    html = reader.get(title.get_absolute_url()).content.decode()
    assert "Second version of ana's review" in element_text(html, "own-review")
    assert "First version" not in page_text(html)


def test_a_message_shows_once(title):
    reader = _as(UserFactory())
    reader.get(title.get_absolute_url())
    reader.post(reverse("reviews:edit", kwargs={"slug": title.slug}), {"rating": 6})
    first = reader.get(title.get_absolute_url())
    assert "Your review is posted." in element_text(first, "main")
    second = reader.get(title.get_absolute_url())
    assert "Your review is posted." not in page_text(second)


def test_after_signing_out_the_old_session_cookie_gets_no_members_page(title):
    member = UserFactory(username="ana")
    reader = _as(member)
    url = title.get_absolute_url()
    assert all('">ana</a>' in page.content.decode() for page in _reopened(reader, url))
    stolen = reader.cookies[settings.SESSION_COOKIE_NAME].value
    csrf = reader.cookies[settings.CSRF_COOKIE_NAME].value
    reader.post(reverse("logout"))
    replay = Client()
    replay.cookies[settings.SESSION_COOKIE_NAME] = stolen
    replay.cookies[settings.CSRF_COOKIE_NAME] = csrf
    html = replay.get(url).content.decode()
    assert '">ana</a>' not in html
    assert f'href="/accounts/login/?next={url}"' in html  # a visitor's page


def test_a_suspension_signs_out_every_session(title):
    member = UserFactory(username="ana")
    reader = _as(member)
    url = title.get_absolute_url()
    assert all('">ana</a>' in page.content.decode() for page in _reopened(reader, url))
    account_services.account_suspend(
        member=member, moderator=UserFactory(is_staff=True), reason="Spam"
    )
    html = reader.get(url).content.decode()
    assert '">ana</a>' not in html
    assert f'href="/accounts/login/?next={url}"' in html  # a visitor's page


def test_posting_a_review_checks_the_form_once_and_changes_each_scope_with_one_statement(
    title,
):
    """The form's own checks stand in for the model's check constraints (each a query);
    the database still enforces them. Each scope the review shows in changes with one
    statement in the writer's transaction when the versions live in the database, none
    when in Redis."""
    from django.test.utils import CaptureQueriesContext

    member = UserFactory()
    reader = _as(member)
    with CaptureQueriesContext(connection) as queries:
        response = reader.post(
            reverse("reviews:edit", kwargs={"slug": title.slug}),
            {"rating": 7, "headline": "Big", "body": "Words"},
        )
    assert response.status_code == 302
    statements = [query["sql"] for query in queries]
    assert not [sql for sql in statements if '"_check"' in sql]
    version_writes = [sql for sql in statements if "core_contentversion" in sql]
    from core.caching import _versions

    in_the_transaction = _versions().commits_with_the_data
    scopes = {f"title:{title.pk}", f"member:{member.pk}", "home", "feeds", "ratings"}
    assert len(version_writes) == (1 if in_the_transaction else 0)
    for scope in scopes if in_the_transaction else ():
        assert f"'{scope}'" in version_writes[0]


def test_a_failed_write_leaves_the_version_as_its_transaction_does(title):
    """In SQLite the version rolls back with the data: the pages cached before the failed
    write stay valid. In Redis it has already changed, which only costs a miss."""
    from django.db import transaction

    from core.caching import _versions

    scope = f"title:{title.pk}"
    versions = _versions()
    versions.set_many({scope: "before"})
    with pytest.raises(RuntimeError), transaction.atomic():
        review(title=title, body="never committed")
        changed_inside = versions.get_many([scope]).get(scope) != "before"
        raise RuntimeError
    in_the_transaction = versions.commits_with_the_data
    assert in_the_transaction == (
        connection.vendor == "sqlite" and not settings.CONTENT_VERSION_CACHE
    )
    # Unchanged unless it was changed outside the transaction (Redis, at once).
    unchanged = in_the_transaction or versions.locks_a_row
    assert (versions.get_many([scope]).get(scope) == "before") == unchanged
    assert changed_inside == (in_the_transaction or not versions.locks_a_row)


# --- What a page's address is made of ------------------------------------------------------


@pytest.fixture
def stored(monkeypatch):
    """The keys what requests render is stored under, pages and fragments alike."""
    from core import caching

    keys = []
    write = caching._write

    def counted(request, key, value):
        if caching._may_store(request):
            keys.append(key)
        return write(request, key, value)

    monkeypatch.setattr(caching, "_write", counted)
    return keys


def rendered(response):
    """Whether the view rendered the page (a stored page renders no template)."""
    return bool(response.templates)


@pytest.mark.parametrize("url", ["/", "/titles/", "/titles/step-up-all-in/"])
def test_a_flood_of_unknown_query_parameters_renders_and_stores_the_page_once(
    client, title, stored, url
):
    answers = [client.get(f"{url}?utm_source=mail-0&n=0")]
    stored_by_the_first = list(stored)
    answers += [client.get(f"{url}?utm_source=mail-{n}&n={n}") for n in range(1, 50)]
    assert {answer.status_code for answer in answers} == {200}
    assert [rendered(answer) for answer in answers] == [True] + [False] * 49
    assert stored == stored_by_the_first
    clean = client.get(url)
    assert not rendered(clean) and clean.content == answers[0].content
    # The parameters never reached the page (its sign-in link leads back to the clean one).
    assert b"utm_source" not in answers[0].content and b"mail-0" not in answers[0].content


def test_nothing_is_stored_under_an_ignored_parameter(client, title, stored):
    client.get("/")
    before = list(stored)
    for n in range(20):
        client.get(f"/?utm_campaign={n}")
    assert stored == before


def test_the_parameters_a_page_reads_still_vary_it(client, title):
    TitleFactory(name="Step Up: High Water", slug="high-water", kind="series")
    films = client.get("/titles/?kind=film&utm=1").content.decode()
    series = client.get("/titles/?kind=series").content.decode()
    assert "step-up-all-in" in films and "high-water" not in films
    assert "high-water" in series and "step-up-all-in" not in series
    again = client.get("/titles/?utm=2&kind=film")
    assert not rendered(again) and again.content.decode() == films


def test_the_same_parameters_in_another_order_or_repeated_are_the_same_page(client, title):
    first = client.get("/titles/?kind=film&sort=-year")
    assert rendered(first)
    for query in (
        "sort=-year&kind=film",
        "sort=year&kind=film&sort=-year",
        "kind=film&sort=-year&x=1",
    ):
        again = client.get(f"/titles/?{query}")
        assert not rendered(again), query
        assert again.content == first.content


def test_a_very_long_query_is_rendered_but_never_stored(client, title, stored, settings):
    long_search = "step " * 60
    for _ in range(3):
        response = client.get("/search/", {"q": long_search})
        assert response.status_code == 200 and rendered(response)
    assert stored == []
    short = client.get("/search/", {"q": "step"})
    assert rendered(short) and stored


def test_a_page_keeps_only_so_many_different_queries_until_the_next_write(
    client, title, stored, settings
):
    settings.PAGE_CACHE_QUERY_VARIANTS = 3
    for n in range(10):
        assert rendered(client.get("/search/", {"q": f"step {n}"}))
    assert len(stored) == 3
    assert not rendered(client.get("/search/", {"q": "step 2"}))  # one of those kept
    assert rendered(client.get("/search/", {"q": "step 9"}))  # past the limit: never kept
    client.get("/search/")
    assert not rendered(client.get("/search/"))  # the clean address is always kept


def url_names(resolver, namespace=""):
    names = {namespace + name for name in resolver.reverse_dict if isinstance(name, str)}
    for inner, (_prefix, included) in resolver.namespace_dict.items():
        names |= url_names(included, f"{namespace}{inner}:")
    return names


def test_every_page_listed_with_its_parameters_exists():
    from django.urls import get_resolver

    from stepup_site.cache_scopes import PAGE_QUERY_PARAMETERS

    assert set(PAGE_QUERY_PARAMETERS) <= url_names(get_resolver())


def cached_key_count():
    """How many keys the page cache holds: local memory, or the suite's Redis database."""
    from django.core.cache import cache

    if settings.REDIS_URL:
        return cache._cache.get_client().dbsize()
    return len(cache._cache)


def test_a_flood_of_new_queries_past_the_limit_adds_no_key_to_the_cache(client, title, settings):
    settings.PAGE_CACHE_QUERY_VARIANTS = 3
    client.get("/search/")
    for n in range(3):
        client.get("/search/", {"q": f"step {n}"})
    keys_at_the_limit = cached_key_count()
    for n in range(50):
        assert rendered(client.get("/search/", {"q": f"flood {n}"}))
    assert cached_key_count() == keys_at_the_limit


def test_only_a_rename_of_a_member_is_a_site_wide_write(client, title, catalog, renders):
    from accounts.models import User

    author = UserFactory(username="krumpqueen")
    review(title=catalog["other"], author=author, body="Words of an old name")
    warm = [catalog["other"].get_absolute_url(), catalog["person"].get_absolute_url()]
    _warm(client, warm)
    member = User.objects.get(pk=author.pk)
    member.set_password("another long password")
    member.save()
    UserFactory(username="newcomer")  # a sign-up shows on no page yet
    User.objects.get(username="newcomer").delete()
    del renders[:]
    for url in warm:
        assert client.get(url)["X-Page-Cache"] == "hit", url
    member.username = "krumpking"
    member.save()
    assert "krumpking" in page_text(client.get(catalog["other"].get_absolute_url()))


def test_a_process_keeps_its_own_copy_of_a_page_while_its_versions_are_current(
    client, title, settings, monkeypatch
):
    from django.core.cache import caches

    settings.PAGE_CACHE_LOCAL_BYTES = 1024 * 1024
    url = title.get_absolute_url()
    assert client.get(url)["X-Page-Cache"] == "miss"
    pages = caches["default"]
    fetched = []
    get = pages.get
    monkeypatch.setattr(
        pages, "get", lambda key, *a, **kw: fetched.append(key) or get(key, *a, **kw)
    )
    assert client.get(url)["X-Page-Cache"] == "hit"
    assert not [key for key in fetched if key.startswith("page:")]  # the page was not fetched
    # A write to the page's scope: the process's copy is stale, and never served.
    review(title=title, author=UserFactory(), body="Written after the copy was kept")
    response = client.get(url)
    assert response["X-Page-Cache"] == "miss"
    assert "Written after the copy was kept" in page_text(response)


def test_a_process_keeps_its_own_copy_of_the_fragments_it_used(title, settings, monkeypatch):
    from django.core.cache import caches

    settings.PAGE_CACHE_LOCAL_BYTES = 1024 * 1024
    for _ in range(3):
        review(title=title, author=UserFactory(), body="Words")
    reader = _as(UserFactory())
    url = title.get_absolute_url()
    reader.get(url)  # renders and stores the cards, the list and the members' page
    pages = caches["default"]
    fetched = []
    get_many = pages.get_many
    monkeypatch.setattr(
        pages, "get_many", lambda keys, *a, **kw: fetched.extend(keys) or get_many(keys, *a, **kw)
    )

    def fragments(keys):  # not the scope versions, which every request reads
        return [key for key in keys if not key.startswith("scope:")]

    html = reader.get(url).content.decode()
    assert html.count('class="review-card') == 3
    assert fragments(fetched) == []  # every fragment from this process's copy
    # A vote changes the card's key and the title's scope: new keys, read from the cache
    # shared by the processes (and rendered, being new).
    voted = title.reviews.first()
    services.helpful_vote_toggle(review=voted, voter=UserFactory())
    html = reader.get(url).content.decode()
    assert fragments(fetched)
    assert "1 person found this helpful" in element_text(html, f"review-{voted.pk}")


# --- Routines: their pages, the leaderboard, their ratings --------------------------------


@pytest.fixture
def routines(title, catalog):
    """All In's finale (danced by the catalog's crew, with a dancer in character) and a
    routine of the other title, each rated once."""
    finale = Routine.objects.get(title=title)
    finale.name, finale.slug = "The Las Vegas finale", "las-vegas-finale"
    finale.save()
    dancer = RoutineDancerFactory(
        routine=finale, person=PersonFactory(name="Finale Dancer"), character=CharacterFactory()
    )
    showcase = RoutineFactory(title=catalog["other"], name="The showcase", slug="showcase")
    for routine in (finale, showcase):
        routine_rating(routine=routine, rating=8)
    return {"finale": finale, "showcase": showcase, "dancer": dancer}


def test_a_routine_rating_makes_its_page_the_leaderboard_and_home_fresh_and_nothing_else(
    client, title, catalog, routines, renders
):
    finale, showcase = routines["finale"], routines["showcase"]
    member = UserFactory(username="vegasfan")
    stale = [
        finale.get_absolute_url(),
        reverse("films:routine_list"),
        reverse("films:routine_list") + "?title=step-up-all-in",
        reverse("films:home"),
        member.get_absolute_url(),
    ]
    warm = [
        showcase.get_absolute_url(),
        title.get_absolute_url(),  # an unrelated page: the title's shows no routine ratings
        catalog["other"].get_absolute_url(),
        catalog["crew"].get_absolute_url(),
        routines["dancer"].person.get_absolute_url(),
        reverse("films:title_list"),
        reverse("films:search") + "?q=finale",
    ]
    _warm(client, stale + warm)
    services.routine_rate(routine=finale, member=member, rating=4)
    del renders[:]
    for url in warm:
        assert client.get(url)["X-Page-Cache"] == "hit", url
    assert renders == []
    for url in stale:
        assert client.get(url)["X-Page-Cache"] == "miss", url
    page = client.get(finale.get_absolute_url())
    assert element_text(page, "routine-rating-count") == "2 ratings"
    assert element_text(page, "routine-rating-average") == "3.0"
    row = element(client.get(reverse("films:routine_list")), "rank-las-vegas-finale")
    cells = [text_of(cell) for cell in row]
    assert cells[1] == "The Las Vegas finale" and cells[3:5] == ["3.0", "2"]
    # Taking it back shows at once too.
    services.routine_rating_remove(routine=finale, member=member)
    assert element_text(client.get(finale.get_absolute_url()), "routine-rating-count") == (
        "1 rating"
    )
    assert client.get(showcase.get_absolute_url())["X-Page-Cache"] == "hit"


def test_a_routine_edit_reaches_its_page_its_title_crew_dancers_the_leaderboard_and_home(
    client, title, catalog, routines
):
    finale, dancer = routines["finale"], routines["dancer"]
    showing = [
        finale.get_absolute_url(),
        title.get_absolute_url(),
        catalog["crew"].get_absolute_url(),
        dancer.person.get_absolute_url(),
        dancer.character.get_absolute_url(),
        reverse("films:routine_list"),
        reverse("films:home"),
    ]
    _warm(client, [*showing, routines["showcase"].get_absolute_url()])
    finale.name = "The Vegas finale, renamed"
    finale.save()
    for url in showing:
        response = client.get(url)
        assert response["X-Page-Cache"] == "miss", url
        assert "The Vegas finale, renamed" in page_text(response), (url, page_text(response))
    assert client.get(routines["showcase"].get_absolute_url())["X-Page-Cache"] == "hit"


def test_catalog_edits_of_what_a_routine_page_names_make_it_fresh(client, title, catalog, routines):
    finale, dancer = routines["finale"], routines["dancer"]
    url = finale.get_absolute_url()
    edits = [
        # a new dancer, in character
        lambda: RoutineDancerFactory(routine=finale, person=PersonFactory(name="New Dancer")),
        # a dancer, their character, the crew or the title renamed
        lambda: _rename(dancer.person, "Renamed Dancer"),
        lambda: _rename(dancer.character, "Renamed Character"),
        lambda: _rename(catalog["crew"], "Renamed Crew"),
        lambda: _rename(title, "Step Up: All In, Renamed"),
        # a crew or a choreographer added
        lambda: finale.crews.add(CrewFactory(name="Added Crew")),
        lambda: finale.choreographers.add(PersonFactory(name="Added Choreographer")),
    ]
    shown = [
        "New Dancer",
        "Renamed Dancer",
        "Renamed Character",
        "Renamed Crew",
        "All In, Renamed",
        "Added Crew",
        "Added Choreographer",
    ]
    for edit, expected in zip(edits, shown, strict=True):
        _warm(client, [url])
        edit()
        response = client.get(url)
        assert response["X-Page-Cache"] == "miss", expected
        assert expected in page_text(response)


def _rename(record, name):
    record.name = name
    record.save()


def test_a_new_dancer_leaves_the_leaderboard_and_other_routines_warm(
    client, title, catalog, routines
):
    newcomer = PersonFactory(name="New Dancer")  # a new person is on the lists
    warm = [reverse("films:routine_list"), routines["showcase"].get_absolute_url()]
    _warm(client, warm)
    RoutineDancerFactory(routine=routines["finale"], person=newcomer)
    for url in warm:
        assert client.get(url)["X-Page-Cache"] == "hit", url


def test_the_leaderboard_keeps_a_copy_per_filter_and_ignores_other_parameters(
    client, title, catalog, routines
):
    url = reverse("films:routine_list")
    assert rendered(client.get(url, {"title": "step-up-all-in", "utm": "x"}))
    assert not rendered(client.get(url, {"title": "step-up-all-in"}))
    assert rendered(client.get(url, {"title": "step-up"}))
    assert rendered(client.get(url, {"best": "on"}))
