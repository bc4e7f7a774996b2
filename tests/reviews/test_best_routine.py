"""A review may name its title's best routine: the form's choice, the routine's stored
best_routine_count through every write, the card, the export and the scopes it changes."""

import csv
import io
import json

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from accounts import services as account_services
from films.models import Routine
from reviews import moderation, services
from reviews.models import Review, Status
from tests.factories import RoutineFactory, StaffUserFactory, TitleFactory, UserFactory, review
from tests.html import element, elements_with_class, page_text, text_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def title():
    return TitleFactory(name="Step Up: All In", slug="step-up-all-in")


@pytest.fixture
def audition(title):
    return RoutineFactory(title=title, name="Frankenstein lab audition", slug="lab-audition")


@pytest.fixture
def finale(title):
    return RoutineFactory(title=title, name="Las Vegas finale", slug="vegas-finale", order=20)


@pytest.fixture
def elsewhere():
    """A routine of another title."""
    other = TitleFactory(name="Step Up Revolution", slug="step-up-revolution")
    return RoutineFactory(title=other, name="Opening flash mob", slug="flash-mob")


def named(*routines):
    """Each routine's stored best_routine_count, read again."""
    return [Routine.objects.get(pk=routine.pk).best_routine_count for routine in routines]


def assert_counts_match_a_recount(*routines):
    for routine in routines:
        stored = Routine.objects.get(pk=routine.pk).best_routine_count
        assert stored == services.best_routine_count_recount(routine), routine.name


# --- The stored count -------------------------------------------------------------------


def test_a_published_review_naming_a_routine_counts_once_for_it(title, audition, finale):
    review(title=title, best_routine=finale)
    review(title=title, best_routine=finale)
    review(title=title)
    assert named(audition, finale) == [0, 2]
    assert_counts_match_a_recount(audition, finale)


def test_changing_the_choice_moves_the_count_and_clearing_it_takes_it_back(title, audition, finale):
    author = UserFactory()
    review(title=title, author=author, best_routine=audition)
    services.review_submit(title=title, author=author, rating=8, best_routine=finale)
    assert named(audition, finale) == [0, 1]
    services.review_submit(title=title, author=author, rating=8)
    assert named(audition, finale) == [0, 0]
    assert Review.objects.get(author=author).best_routine is None


def test_deleting_the_review_takes_its_count_back(title, finale):
    written = review(title=title, best_routine=finale)
    services.review_delete(review=written)
    assert named(finale) == [0]


def test_a_routine_of_another_title_is_refused_and_nothing_is_stored(title, finale, elsewhere):
    author = UserFactory()
    with pytest.raises(ValidationError, match="this title's own routines"):
        services.review_submit(title=title, author=author, rating=8, best_routine=elsewhere)
    assert not Review.objects.filter(author=author).exists()
    # Nor does an edit move an existing review's choice there.
    review(title=title, author=author, best_routine=finale)
    with pytest.raises(ValidationError):
        services.review_submit(title=title, author=author, rating=2, best_routine=elsewhere)
    kept = Review.objects.get(author=author)
    assert (kept.rating, kept.best_routine_id) == (7, finale.pk)
    assert named(finale, elsewhere) == [1, 0]


def test_only_published_reviews_count_through_holds_removals_and_restores(settings, title, finale):
    settings.REVIEWS_HOLD_NEW = True
    held = review(title=title, best_routine=finale)
    assert held.status == Status.PENDING and named(finale) == [0]
    moderator = StaffUserFactory()
    moderation.content_moderate(item=held, status=Status.PUBLISHED, moderator=moderator)
    assert named(finale) == [1]
    moderation.content_moderate(item=held, status=Status.REMOVED, moderator=moderator, reason="x")
    assert named(finale) == [0]
    moderation.content_moderate(item=held, status=Status.PUBLISHED, moderator=moderator)
    assert named(finale) == [1]
    assert_counts_match_a_recount(finale)


def test_an_edit_of_a_held_review_changes_no_count_until_it_is_published(
    settings, title, audition, finale
):
    settings.REVIEWS_HOLD_NEW = True
    held = review(title=title, best_routine=audition)
    services.review_submit(title=title, author=held.author, rating=5, best_routine=finale)
    assert named(audition, finale) == [0, 0]
    moderation.content_moderate(item=held, status=Status.PUBLISHED, moderator=None)
    assert named(audition, finale) == [0, 1]


def test_a_suspension_hiding_content_uncounts_it_and_lifting_it_counts_it_again(title, finale):
    written = review(title=title, best_routine=finale)
    moderator = StaffUserFactory()
    account_services.account_suspend(
        member=written.author, moderator=moderator, reason="spam", hide_content=True
    )
    assert named(finale) == [0]
    account_services.account_unsuspend(member=written.author, moderator=moderator)
    assert named(finale) == [1]


def test_deleting_the_account_takes_the_count_back(title, finale):
    written = review(title=title, best_routine=finale)
    review(title=title, best_routine=finale)
    account_services.account_delete(user=written.author)
    assert named(finale) == [1]
    assert_counts_match_a_recount(finale)


def test_a_deleted_routine_leaves_its_reviews_naming_none(title, finale):
    written = review(title=title, best_routine=finale, body="Words")
    finale.delete()
    written.refresh_from_db()
    assert written.best_routine is None
    assert written.status == Status.PUBLISHED


# --- The form ---------------------------------------------------------------------------


@pytest.fixture
def member(client):
    user = UserFactory(username="moosefan")
    client.force_login(user)
    return user


def edit_url(title):
    return reverse("reviews:edit", kwargs={"slug": title.slug})


def test_the_form_offers_the_titles_routines_only_when_it_has_some(
    client, member, title, audition, finale, elsewhere
):
    page = client.get(edit_url(title))
    select = element(page, "id_best_routine")
    options = [(option.get("value"), text_of(option)) for option in select.iter("option")]
    assert options == [
        ("", "None chosen"),
        (str(audition.pk), "Frankenstein lab audition"),
        (str(finale.pk), "Las Vegas finale"),
    ]
    assert "Best routine (optional)" in page_text(page)
    no_routines = TitleFactory()
    assert 'name="best_routine"' not in client.get(edit_url(no_routines)).content.decode()
    # The form on the title page itself, from its cached copy, offers them too.
    html = client.get(title.get_absolute_url()).content.decode()
    assert f'<option value="{finale.pk}">Las Vegas finale</option>' in html


def test_a_member_names_the_best_routine_and_their_card_links_to_it(client, member, title, finale):
    response = client.post(
        edit_url(title), {"rating": 9, "body": "Vegas!", "best_routine": finale.pk}
    )
    assert response.status_code == 302
    assert Review.objects.get(author=member).best_routine == finale
    assert named(finale) == [1]
    card = element(client.get(title.get_absolute_url()), "own-review")
    [line] = [n for n in card.iter() if "review-best-routine" in (n.get("class") or "").split()]
    assert text_of(line) == "Best routine: Las Vegas finale"
    assert line.find("a").get("href") == "/routines/vegas-finale/"
    # The edit form shows the choice made.
    select = element(client.get(edit_url(title)), "id_best_routine")
    chosen = [
        option.get("value")
        for option in select.iter("option")
        if option.get("selected") is not None
    ]
    assert chosen == [str(finale.pk)]


@pytest.mark.parametrize(
    "choice",
    [
        "another title's",
        "not-a-number",
        "99999999999999999999999",
        "-1",
        "1.5",
        "0x10",
    ],
)
def test_a_forged_choice_gets_the_form_back_with_a_message_and_stores_nothing(
    client, member, title, finale, elsewhere, choice
):
    value = elsewhere.pk if choice == "another title's" else choice
    response = client.post(edit_url(title), {"rating": 9, "body": "Hi", "best_routine": value})
    assert response.status_code == 400
    assert "Choose one of this title's routines, or none." in page_text(response)
    assert not Review.objects.filter(author=member).exists()
    assert named(finale, elsewhere) == [0, 0]


def test_a_choice_with_a_nul_byte_is_refused_and_stores_nothing(client, member, title, finale):
    response = client.post(edit_url(title), {"rating": 9, "best_routine": f"{finale.pk}\x00"})
    assert response.status_code == 400
    assert not Review.objects.filter(author=member).exists()


def test_a_forged_choice_on_a_title_without_routines_is_ignored(client, member, elsewhere):
    """No routines, no field: what a forged post sends for it is never read."""
    bare = TitleFactory()
    response = client.post(edit_url(bare), {"rating": 9, "best_routine": elsewhere.pk})
    assert response.status_code == 302
    assert Review.objects.get(author=member).best_routine is None
    assert named(elsewhere) == [0]


# --- The card on cached pages -----------------------------------------------------------


def best_routine_lines(page):
    return [text_of(line) for line in elements_with_class(page, "review-best-routine")]


def test_a_visitor_sees_a_changed_choice_at_once_on_the_cached_title_page(title, audition, finale):
    written = review(title=title, best_routine=audition, body="Words")
    visitor = Client()
    assert best_routine_lines(visitor.get(title.get_absolute_url())) == [
        "Best routine: Frankenstein lab audition"
    ]
    services.review_submit(
        title=title, author=written.author, rating=7, body="Words", best_routine=finale
    )
    assert best_routine_lines(visitor.get(title.get_absolute_url())) == [
        "Best routine: Las Vegas finale"
    ]
    services.review_submit(title=title, author=written.author, rating=7, body="Words")
    assert best_routine_lines(visitor.get(title.get_absolute_url())) == []


def test_a_renamed_or_deleted_routine_shows_at_once_on_cached_cards(title, finale):
    written = review(title=title, best_routine=finale, body="Words")
    visitor, reader = Client(), Client()
    reader.force_login(UserFactory())
    pages = [
        (visitor, title.get_absolute_url()),
        (reader, title.get_absolute_url()),
        (visitor, written.author.get_absolute_url()),
        (visitor, reverse("films:home")),
        (visitor, written.get_absolute_url()),
    ]
    for client, url in pages:
        client.get(url)
    finale.name = "The Vegas finale"
    finale.save()
    for client, url in pages:
        assert best_routine_lines(client.get(url)) == ["Best routine: The Vegas finale"], url
    finale.delete()
    for client, url in pages:
        assert best_routine_lines(client.get(url)) == [], url


def test_the_review_page_profile_and_home_page_show_the_best_routine(client, title, finale):
    written = review(title=title, best_routine=finale, body="Words")
    for url in (
        written.get_absolute_url(),
        written.author.get_absolute_url(),
        reverse("films:home"),
    ):
        assert best_routine_lines(client.get(url)) == ["Best routine: Las Vegas finale"], url


def test_listing_pages_read_the_best_routines_with_the_reviews_not_one_by_one(
    client, title, finale, django_assert_num_queries, no_page_cache
):
    # The routine a card names is joined to the reviews' query: twenty cards naming one
    # cost the title page (the title, its six catalog prefetches, the count of its reviews
    # by language, the page of reviews, the top reviews of its JSON-LD, its stored months of
    # ratings for the chart) and the home page (titles, trivia, crews, top routines, latest
    # reviews, staff picks) no query more.
    for _ in range(20):
        review(title=title, best_routine=finale, body="Words")
    with django_assert_num_queries(11):
        assert client.get(title.get_absolute_url()).status_code == 200
    with django_assert_num_queries(6):
        assert client.get(reverse("films:home")).status_code == 200


# --- The export -------------------------------------------------------------------------


def test_the_export_names_each_reviews_best_routine(client, member, title, finale):
    review(title=title, author=member, best_routine=finale)
    review(author=member)
    data = json.loads(client.get(reverse("accounts:export_json")).content)
    assert [row["best_routine"] for row in data["reviews"]] == ["Las Vegas finale", ""]
    body = client.get(reverse("accounts:export_csv")).content.decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(body)))
    assert [row["best_routine"] for row in rows] == ["Las Vegas finale", ""]


# --- What a write makes stale -----------------------------------------------------------


@pytest.fixture
def changed(monkeypatch):
    """The scopes each write makes stale, as the caches are told."""
    from core import caching

    seen = []
    original = caching.content_changed

    def record(*scopes):
        seen.append(set(scopes))
        return original(*scopes)

    monkeypatch.setattr(caching, "content_changed", record)

    def scopes():
        found = set().union(*seen) if seen else set()
        seen.clear()
        return {s for s in found if s == "routines" or s.startswith("catalog:routine:")}

    return scopes


def test_naming_a_routine_makes_its_page_and_the_leaderboard_stale(
    title, audition, finale, changed
):
    author = UserFactory()
    review(title=title, author=author, best_routine=audition)
    assert changed() == {f"catalog:routine:{audition.pk}", "routines"}
    services.review_submit(title=title, author=author, rating=3, best_routine=finale)
    assert changed() == {
        f"catalog:routine:{audition.pk}",
        f"catalog:routine:{finale.pk}",
        "routines",
    }
    # New words under the same choice: its page shows the review, the leaderboard no count.
    services.review_submit(title=title, author=author, rating=3, body="New", best_routine=finale)
    assert changed() == {f"catalog:routine:{finale.pk}"}
    services.review_submit(title=title, author=author, rating=3, body="New")
    assert changed() == {f"catalog:routine:{finale.pk}", "routines"}


def test_moderation_votes_and_deletion_of_a_review_naming_a_routine_reach_its_page(
    title, finale, changed
):
    written = review(title=title, best_routine=finale, body="Words")
    changed()
    moderation.content_moderate(item=written, status=Status.PENDING, moderator=None)
    assert changed() == {f"catalog:routine:{finale.pk}", "routines"}
    moderation.content_moderate(item=written, status=Status.PUBLISHED, moderator=None)
    assert changed() == {f"catalog:routine:{finale.pk}", "routines"}
    services.helpful_vote_toggle(review=written, voter=UserFactory())
    assert changed() == {f"catalog:routine:{finale.pk}"}
    services.review_delete(review=written)
    assert changed() == {f"catalog:routine:{finale.pk}", "routines"}


def test_a_review_naming_no_routine_leaves_every_routine_page_warm(title, finale, changed):
    written = review(title=title, body="Words")
    services.helpful_vote_toggle(review=written, voter=UserFactory())
    moderation.content_moderate(item=written, status=Status.PENDING, moderator=None)
    services.review_delete(review=written, by_author=False)
    assert changed() == set()
