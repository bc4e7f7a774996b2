from datetime import timedelta
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.db.models import Count, F
from django.utils import timezone

from bench.data import Command
from bench.generate import Generator
from bench.members import BENCH_PREFIX
from films.models import Title
from reviews import services
from reviews.models import (
    COMMENT_MAX_LENGTH,
    REVIEW_BODY_MAX_LENGTH,
    Comment,
    HelpfulVote,
    Review,
    Status,
)
from reviews.services import review_counts_recount, title_aggregates_recount
from tests.factories import UserFactory, review

SMALL = {"users": 40, "reviews": 150, "all_in_reviews": 35}


def bench(**options):
    stdout, stderr = StringIO(), StringIO()
    call_command(Command(), stdout=stdout, stderr=stderr, **{**SMALL, **options})
    return stdout.getvalue(), stderr.getvalue()


def all_in():
    return Title.objects.get(name="Step Up: All In")


def bench_members():
    return get_user_model().objects.filter(username__startswith=BENCH_PREFIX)


def assert_title_aggregates_match_recount():
    for title in Title.objects.all():
        expected = title_aggregates_recount(title)
        stored = {field: getattr(title, field) for field in expected}
        assert stored == expected, title.name


def assert_review_counts_match_recount():
    for item in Review.objects.all():
        expected = review_counts_recount(item)
        assert {"helpful_count": item.helpful_count, "comment_count": item.comment_count} == (
            expected
        ), item.pk


def test_writes_exactly_the_reviews_asked_for(catalog):
    bench()

    assert Review.objects.count() == 150
    assert Review.objects.filter(title=all_in()).count() == 35
    assert bench_members().count() == 40
    # The rest is spread over every other title, the first film getting the most.
    per_title = dict(Review.objects.values_list("title").annotate(n=Count("id")))
    assert len(per_title) == Title.objects.count() == 7
    first_film = Title.objects.get(franchise_position=1)
    assert per_title[first_film.pk] == max(n for pk, n in per_title.items() if pk != all_in().pk)


def test_too_few_members_are_raised_to_the_busiest_title_with_a_note(catalog):
    _out, err = bench(users=10, reviews=60, all_in_reviews=30)

    assert "NOTE: raising --users from 10 to 30" in err
    assert "Step Up: All In" in err
    assert bench_members().count() == 30
    assert Review.objects.filter(title=all_in()).count() == 30
    # One review per member per title, even on the title every member reviewed.
    authors = Review.objects.filter(title=all_in()).values_list("author", flat=True)
    assert len(set(authors)) == 30


def test_enough_members_need_no_note(catalog):
    _out, err = bench()

    assert "NOTE" not in err


def test_titles_stored_aggregates_equal_a_recount(catalog):
    bench(reviews=400, all_in_reviews=100, users=150)

    assert all_in().rating_count > 0
    assert_title_aggregates_match_recount()


def test_reviews_helpful_and_comment_counts_equal_a_recount(catalog):
    bench(reviews=400, all_in_reviews=100, users=150)

    assert HelpfulVote.objects.exists()
    assert Comment.objects.exists()
    assert_review_counts_match_recount()


def test_nobody_votes_on_or_comments_their_own_review(catalog):
    bench(reviews=400, all_in_reviews=100, users=150)

    assert not HelpfulVote.objects.filter(voter=F("review__author")).exists()
    assert not Comment.objects.filter(author=F("review__author")).exists()


def test_votes_and_comments_only_on_published_text_reviews(catalog):
    bench(reviews=400, all_in_reviews=100, users=150)

    voted_or_answered = Review.objects.filter(helpful_votes__isnull=False) | Review.objects.filter(
        comments__isnull=False
    )
    assert voted_or_answered.exists()
    assert not voted_or_answered.exclude(status=Status.PUBLISHED).exists()
    assert not voted_or_answered.filter(body="").exists()


def test_mixes_rating_only_and_text_reviews_within_the_limits(catalog):
    bench(reviews=400, all_in_reviews=100, users=150)

    assert Review.objects.filter(body="").exists()
    assert Review.objects.exclude(body="").exists()
    assert Review.objects.exclude(headline="").exists()
    assert not Review.objects.filter(body="").exclude(headline="").exists()
    assert not Review.objects.filter(is_featured=True).exists()
    assert max(len(body) for body in Review.objects.values_list("body", flat=True)) <= (
        REVIEW_BODY_MAX_LENGTH
    )
    assert all(
        1 <= len(body) <= COMMENT_MAX_LENGTH
        for body in Comment.objects.values_list("body", flat=True)
    )
    assert set(Review.objects.values_list("rating", flat=True)) <= set(range(1, 11))


def test_bench_members_cannot_sign_in_and_are_old_enough_to_post_freely(catalog):
    bench()

    cutoff = timezone.now() - timedelta(days=60)
    for member in bench_members():
        assert not member.has_usable_password()
        assert member.is_active
        assert member.date_joined < cutoff
    emails = list(bench_members().values_list("email", flat=True))
    assert len(set(emails)) == len(emails)


def test_the_site_keeps_working_after_the_load(catalog):
    bench()
    member = UserFactory()
    bench_review = Review.objects.filter(status=Status.PUBLISHED).exclude(body="").first()

    # New rows get ids after the generated ones (PostgreSQL's sequences were moved on).
    new = review(title=all_in(), author=member, rating=9, body="Still a favourite.")
    services.helpful_vote_toggle(review=bench_review, voter=member)
    services.comment_create(review=bench_review, author=member, body="Agreed.")

    assert new.pk > max(Review.objects.exclude(pk=new.pk).values_list("pk", flat=True))
    assert_title_aggregates_match_recount()
    assert_review_counts_match_recount()


def test_the_same_seed_gives_the_same_reviews(catalog):
    bench(seed=7)
    first = sorted(Review.objects.values_list("rating", "headline", "body"))

    bench(seed=7, replace=True)

    assert sorted(Review.objects.values_list("rating", "headline", "body")) == first


def test_refuses_a_second_run_without_replace(catalog):
    bench()

    with pytest.raises(CommandError, match="--replace"):
        bench()
    assert Review.objects.count() == 150
    assert bench_members().count() == 40


def test_refuses_a_database_with_real_reviews(catalog):
    review(title=all_in(), author=UserFactory(), rating=8)

    with pytest.raises(CommandError, match="already holds reviews"):
        bench()
    assert not bench_members().exists()


def test_refuses_without_the_catalog(db):
    with pytest.raises(CommandError, match="load_catalog"):
        bench()


def test_refuses_more_all_in_reviews_than_reviews(catalog):
    with pytest.raises(CommandError, match="all-in-reviews"):
        bench(reviews=10, all_in_reviews=20)


def test_replace_leaves_only_the_new_bench_data(catalog):
    bench()

    out, _err = bench(users=60, reviews=200, all_in_reviews=50, replace=True)

    assert "deleted old bench data" in out
    assert bench_members().count() == 60
    assert Review.objects.count() == 200
    assert Review.objects.filter(title=all_in()).count() == 50
    assert not get_user_model().objects.filter(username=f"{BENCH_PREFIX}0000061").exists()
    assert_title_aggregates_match_recount()
    assert_review_counts_match_recount()


def test_replace_keeps_real_members_and_their_reviews(catalog):
    bench(reviews=400, all_in_reviews=100, users=150)
    fan, other_fan = UserFactory(), UserFactory()
    kept = review(title=all_in(), author=fan, rating=10, headline="Yes", body="Loved it.")
    services.helpful_vote_toggle(review=kept, voter=other_fan)
    # Bench members' votes and comments on a real review go with them, and its counts follow.
    for bench_member in bench_members()[:3]:
        services.helpful_vote_toggle(review=kept, voter=bench_member)
        services.comment_create(review=kept, author=bench_member, body="Same here.")
    services.comment_create(review=kept, author=other_fan, body="Me too.")
    # And a real member's vote on a bench review goes with the bench review.
    bench_review = Review.objects.filter(status=Status.PUBLISHED, author__in=bench_members())
    services.helpful_vote_toggle(review=bench_review.first(), voter=fan)

    bench(replace=True)

    kept.refresh_from_db()
    assert (kept.rating, kept.headline, kept.body, kept.status) == (
        10,
        "Yes",
        "Loved it.",
        Status.PUBLISHED,
    )
    assert (kept.helpful_count, kept.comment_count) == (1, 1)
    assert list(kept.helpful_votes.values_list("voter", flat=True)) == [other_fan.pk]
    assert get_user_model().objects.filter(pk__in=[fan.pk, other_fan.pk]).count() == 2
    assert Review.objects.count() == 150 + 1
    assert Review.objects.filter(title=all_in()).count() == 35 + 1
    assert_title_aggregates_match_recount()
    assert_review_counts_match_recount()


def test_replace_ignores_a_real_member_who_chose_a_bench_name(catalog):
    lookalike = UserFactory(username=f"{BENCH_PREFIX}fan")
    bench()

    bench(replace=True)

    assert get_user_model().objects.filter(pk=lookalike.pk).exists()
    assert bench_members().count() == 40 + 1


def foreign_keys():
    """PostgreSQL: every foreign key's definition. SQLite: whether keys are enforced."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("PRAGMA foreign_keys")
            return cursor.fetchall()
        cursor.execute(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) "
            "FROM pg_constraint WHERE contype = 'f' ORDER BY 1, 2"
        )
        return cursor.fetchall()


def test_foreign_keys_are_all_back_and_hold_after_the_load(catalog):
    # PostgreSQL drops the keys for the load and adds them back; SQLite checks them once
    # at the end (from the command line) or all along (in a caller's transaction).
    before = foreign_keys()

    bench()
    bench(replace=True)

    assert foreign_keys() == before
    if connection.vendor == "postgresql":
        assert len(before) > 10
    else:
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA foreign_key_check")
            assert cursor.fetchall() == []


def test_a_load_failing_midway_leaves_nothing_behind(catalog, monkeypatch):
    real = Generator._reviews_of
    calls = []

    def fail_on_the_second_title(self, *args):
        calls.append(args)
        if len(calls) == 2:
            raise RuntimeError("disk full")
        real(self, *args)

    monkeypatch.setattr(Generator, "_reviews_of", fail_on_the_second_title)
    before = foreign_keys() if connection.vendor == "postgresql" else None

    with pytest.raises(RuntimeError, match="disk full"):
        bench()

    assert not bench_members().exists()
    assert not Review.objects.exists()
    assert not HelpfulVote.objects.exists()
    if before is not None:
        assert foreign_keys() == before


@pytest.mark.django_db(transaction=True)
def test_a_load_in_its_own_transaction_commits_consistent_data_and_restores_settings(catalog):
    # As from the command line: no test transaction around it, so the command tunes the
    # connection (SQLite), checks foreign keys at the end, commits and vacuums (PostgreSQL).
    def connection_settings():
        if connection.vendor != "sqlite":
            return None
        with connection.cursor() as cursor:
            return [
                cursor.execute(f"PRAGMA {name}").fetchone()[0]
                for name in ("foreign_keys", "synchronous", "cache_size")
            ]

    before = connection_settings()

    out, _err = bench()

    assert "committed" in out
    assert "foreign keys" in out  # checked once, at the end
    assert connection_settings() == before
    assert Review.objects.count() == 150
    assert_title_aggregates_match_recount()
    assert_review_counts_match_recount()
