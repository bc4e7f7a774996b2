"""The stored count of each title's listed reviews by language (TitleLanguageCount): every
write that moves a review in or out of the list, or between languages, keeps it in the same
transaction; the page reads it instead of counting; the migration fills it.
"""

import importlib

import pytest
from django.apps import apps
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from accounts import services as account_services
from reviews import counts, moderation, services
from reviews.models import Review, Status, TitleLanguageCount
from reviews.pagination import REVIEWS_PER_PAGE, page_url
from tests.factories import RoutineFactory, StaffUserFactory, TitleFactory, UserFactory, review
from tests.html import ReviewList

pytestmark = pytest.mark.django_db


@pytest.fixture
def title():
    return TitleFactory()


def stored(title):
    return TitleLanguageCount.objects.of_title(title)


def assert_stored(title, expected):
    """The stored counts are `expected` and equal a fresh GROUP BY of the reviews."""
    assert stored(title) == expected
    assert services.title_language_counts_recount(title) == expected


def test_a_written_review_counts_in_its_language_and_a_rating_alone_in_none(title):
    review(title=title, body="Words", language="en")
    review(title=title, body="Palabras", language="es")
    review(title=title, body="Más palabras", language="es")
    review(title=title, language="es")  # a rating without text: not listed, not counted
    assert_stored(title, {"en": 1, "es": 2})
    # Another title's reviews are its own.
    review(title=TitleFactory(), body="Elsewhere", language="es")
    assert_stored(title, {"en": 1, "es": 2})


def test_an_edit_moves_the_review_between_languages_and_in_or_out_with_its_text(title):
    author = UserFactory()
    services.review_submit(title=title, author=author, rating=6, body="Words", language="en")
    assert_stored(title, {"en": 1})
    services.review_submit(title=title, author=author, rating=6, body="Words", language="es")
    assert_stored(title, {"es": 1})  # English's row is left at 0, not listed
    assert TitleLanguageCount.objects.get(title=title, language="en").review_count == 0
    services.review_submit(title=title, author=author, rating=6, body="")  # text taken away
    assert_stored(title, {})
    services.review_submit(title=title, author=author, rating=7, body="Back")  # language kept
    assert_stored(title, {"es": 1})
    # Only the rating changes: the count stays.
    services.review_submit(title=title, author=author, rating=2, body="Back")
    assert_stored(title, {"es": 1})


def test_deleting_a_review_takes_it_out_of_its_languages_count(title):
    kept = review(title=title, body="Palabras", language="es")
    gone = review(title=title, body="Otras", language="es")
    services.review_delete(review=gone)
    assert_stored(title, {"es": 1})
    services.review_delete(review=kept)
    assert_stored(title, {})


def test_moderation_hides_restores_and_removes_it_from_the_count(title):
    written = review(title=title, body="Palabras", language="es")
    review(title=title, body="Words", language="en")
    moderation.content_moderate(item=written, status=Status.PENDING, moderator=None)
    assert_stored(title, {"en": 1})
    moderation.content_moderate(item=written, status=Status.PUBLISHED, moderator=None)
    assert_stored(title, {"en": 1, "es": 1})
    moderation.content_moderate(
        item=written, status=Status.REMOVED, moderator=None, reason="Spam", notify=False
    )
    assert_stored(title, {"en": 1})
    # Held, edited into another language, then approved: counted in the new language.
    moderation.content_moderate(item=written, status=Status.PENDING, moderator=None)
    services.review_submit(
        title=title, author=written.author, rating=5, body="Now in English", language="en"
    )
    assert_stored(title, {"en": 1})
    moderation.content_moderate(item=written, status=Status.PUBLISHED, moderator=None)
    assert_stored(title, {"en": 2})


def test_a_suspension_hides_and_its_end_restores_the_members_reviews_in_the_counts(title):
    member, moderator = UserFactory(), StaffUserFactory()
    review(title=title, author=member, body="Palabras", language="es")
    review(title=TitleFactory(), author=member, body="Words", language="en")
    review(title=title, body="Words", language="en")
    account_services.account_suspend(
        member=member, moderator=moderator, reason="Spam", hide_content=True
    )
    assert_stored(title, {"en": 1})
    account_services.account_unsuspend(member=member, moderator=moderator)
    assert_stored(title, {"en": 1, "es": 1})


def test_deleting_the_account_takes_its_reviews_out_of_the_counts(title):
    member = UserFactory()
    review(title=title, author=member, body="Palabras", language="es")
    review(title=title, body="Palabras", language="es")
    account_services.account_delete(user=member)
    assert_stored(title, {"es": 1})


def test_the_database_refuses_a_negative_count_and_a_second_row_per_language(title):
    review(title=title, body="Palabras", language="es")
    with pytest.raises(IntegrityError), transaction.atomic():
        TitleLanguageCount.objects.filter(title=title).update(review_count=-1)
    with pytest.raises(IntegrityError), transaction.atomic():
        TitleLanguageCount.objects.create(title=title, language="es", review_count=1)


def test_a_decrement_that_finds_no_count_fails_instead_of_storing_a_negative(title):
    # A count that drifted (its row gone) is an error, not a silent -1.
    with pytest.raises(IntegrityError), transaction.atomic():
        counts.language_count_adjust(title.pk, "es", -1)
    review(title=title, body="Palabras", language="es")
    with pytest.raises(IntegrityError), transaction.atomic():
        counts.language_count_adjust(title.pk, "es", -2)
    assert_stored(title, {"es": 1})


def test_the_increments_add_up_in_the_database_from_the_first_one(title):
    for _ in range(3):
        counts.language_count_adjust(title.pk, "es", 1)
    counts.language_count_adjust(title.pk, "es", -1)
    assert stored(title) == {"es": 2}
    assert TitleLanguageCount.objects.filter(title=title).count() == 1


def test_the_migration_fills_the_counts_with_one_group_by(title):
    other = TitleFactory()
    review(title=title, body="Words", language="en")
    review(title=title, body="Palabras", language="es")
    review(title=title, language="es")  # no text
    held = review(title=other, body="Held", language="es")
    moderation.content_moderate(item=held, status=Status.PENDING, moderator=None)
    review(title=other, body="Palabras", language="es")
    TitleLanguageCount.objects.all().delete()
    migration = importlib.import_module("reviews.migrations.0015_title_language_counts")
    with CaptureQueriesContext(connection) as queries:
        migration.fill_language_counts(apps, None)
    assert len([q for q in queries.captured_queries if "GROUP BY" in q["sql"]]) == 1
    assert stored(title) == {"en": 1, "es": 1}
    assert stored(other) == {"es": 1}


def test_repairing_sets_the_counts_to_a_recount(title):
    review(title=title, body="Words", language="en")
    review(title=title, body="Palabras", language="es")
    TitleLanguageCount.objects.filter(title=title, language="en").update(review_count=40)
    TitleLanguageCount.objects.filter(title=title, language="es").delete()
    services.title_language_counts_store(title)
    assert_stored(title, {"en": 1, "es": 1})


def test_the_title_page_shows_the_stored_counts(client, title):
    for n in range(2):
        review(title=title, body=f"Palabras {n}", language="es")
    review(title=title, body="Words", language="en")
    with translation.override("es"):
        url = title.get_absolute_url()
    html = client.get(url, HTTP_ACCEPT_LANGUAGE="es").content.decode()
    assert "Español (2)" in html and "English (1)" in html


# --- The list's query: the page's ids first, then their joins ----------------------------


def test_a_deep_page_is_one_query_choosing_the_ids_alone_before_the_joins(
    client, title, no_page_cache
):
    finale = RoutineFactory(title=title)
    for n in range(2 * REVIEWS_PER_PAGE + 3):
        review(title=title, body=f"Words {n}", best_routine=finale if n % 2 else None)
    url = page_url(title, sort="helpful", page=3)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    listed = ReviewList(response).review_ids
    expected = list(
        Review.objects.published()
        .filter(title=title)
        .with_text()
        .order_by("-helpful_count", "-created_at", "-id")
        .values_list("pk", flat=True)[2 * REVIEWS_PER_PAGE :]
    )
    assert listed == expected
    (page_sql,) = [q["sql"] for q in queries.captured_queries if " IN (SELECT " in q["sql"]]
    # The subquery picks the page by the sort's index with nothing joined; the author and
    # the routine are joined to those ids only.
    outer, inner = page_sql.split(" IN (SELECT ", 1)
    assert "JOIN" in outer and "LIMIT" in inner and "JOIN" not in inner


def test_a_repaired_count_makes_only_its_title_page_stale(title):
    from stepup_site.cache_scopes import write_scopes

    row = TitleLanguageCount(title=title, language="es", review_count=3)
    assert write_scopes(row, created=True) == {f"title:{title.pk}"}
