from datetime import UTC, datetime
from unittest import mock

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase as HypothesisTestCase

from accounts import services as account_services
from films.models import Routine, Title
from reviews import counts, moderation, services
from reviews.models import Comment, HelpfulVote, Report, Review, RoutineRating, Status
from tests.factories import (
    RoutineFactory,
    StaffUserFactory,
    TitleFactory,
    UserFactory,
    review,
    routine_rating,
)

pytestmark = pytest.mark.django_db

AGGREGATE_FIELDS = ["rating_count", "rating_sum", "text_review_count"] + [
    f"ratings_{value}" for value in range(1, 11)
]


def stored_aggregates(title):
    title = Title.objects.get(pk=title.pk)
    return {field: getattr(title, field) for field in AGGREGATE_FIELDS}


def assert_aggregates_match_a_recount(title):
    assert stored_aggregates(title) == services.title_aggregates_recount(title)


def test_a_new_review_updates_the_titles_stored_aggregates():
    title = TitleFactory()
    review(title=title, rating=7, body="Loved the finale.")
    review(title=title, rating=4)
    title.refresh_from_db()
    assert title.rating_count == 2
    assert title.rating_sum == 11
    assert title.rating_average == 2.75
    assert title.text_review_count == 1
    assert title.ratings_7 == 1 and title.ratings_4 == 1
    assert_aggregates_match_a_recount(title)


def test_submitting_again_edits_the_existing_review_never_a_second_one():
    title, author = TitleFactory(), UserFactory()
    first, created = services.review_submit(title=title, author=author, rating=3)
    again, created_again = services.review_submit(
        title=title, author=author, rating=9, body="Changed my mind."
    )
    assert created and not created_again
    assert first.pk == again.pk
    assert Review.objects.filter(title=title, author=author).count() == 1
    title.refresh_from_db()
    assert (title.rating_count, title.rating_sum, title.ratings_3, title.ratings_9) == (1, 9, 0, 1)
    assert title.text_review_count == 1
    assert_aggregates_match_a_recount(title)


def test_deleting_a_review_takes_it_out_of_the_aggregates_and_twice_is_harmless():
    title = TitleFactory()
    kept = review(title=title, rating=10)
    gone = review(title=title, rating=2, body="Not for me.")
    services.review_delete(review=gone)
    services.review_delete(review=gone)
    title.refresh_from_db()
    assert (title.rating_count, title.rating_sum, title.text_review_count) == (1, 10, 0)
    assert Review.objects.filter(pk=kept.pk).exists()
    assert_aggregates_match_a_recount(title)


def stored_routine_counts(routine):
    return dict(Routine.objects.filter(pk=routine.pk).values("rating_count", "rating_sum").get())


def test_rating_a_routine_stores_the_rating_and_the_routines_count_and_sum():
    routine = RoutineFactory()
    rated, created = services.routine_rate(routine=routine, member=UserFactory(), rating=9)
    routine_rating(routine=routine, rating=4)
    assert created and rated.rating == 9
    assert stored_routine_counts(routine) == {"rating_count": 2, "rating_sum": 13}
    routine.refresh_from_db()
    assert routine.rating_average == 3.25
    assert stored_routine_counts(routine) == services.routine_aggregates_recount(routine)


def test_rating_a_routine_again_changes_the_rating_never_a_second_one():
    routine, member = RoutineFactory(), UserFactory()
    first, _ = services.routine_rate(routine=routine, member=member, rating=3)
    again, created = services.routine_rate(routine=routine, member=member, rating=10)
    same, _ = services.routine_rate(routine=routine, member=member, rating=10)
    assert not created and first.pk == again.pk == same.pk
    assert RoutineRating.objects.get(pk=first.pk).rating == 10
    assert stored_routine_counts(routine) == {"rating_count": 1, "rating_sum": 10}


def test_removing_a_routine_rating_takes_it_out_and_twice_is_harmless():
    routine, member = RoutineFactory(), UserFactory()
    routine_rating(routine=routine, member=member, rating=6)
    routine_rating(routine=routine, rating=8)
    assert services.routine_rating_remove(routine=routine, member=member) is True
    assert services.routine_rating_remove(routine=routine, member=member) is False
    assert stored_routine_counts(routine) == {"rating_count": 1, "rating_sum": 8}
    assert stored_routine_counts(routine) == services.routine_aggregates_recount(routine)


@pytest.mark.parametrize("rating", [0, 11, -1, 2**63, None, "7"])
def test_a_routine_rating_off_the_half_star_scale_is_refused_and_stores_nothing(rating):
    routine = RoutineFactory()
    with pytest.raises(ValidationError):
        services.routine_rate(routine=routine, member=UserFactory(), rating=rating)
    assert not RoutineRating.objects.exists()
    assert stored_routine_counts(routine) == {"rating_count": 0, "rating_sum": 0}


def test_a_suspended_member_cannot_rate_a_routine():
    routine, member = RoutineFactory(), UserFactory()
    account_services.account_suspend(member=member, moderator=None, reason="Spam")
    with pytest.raises(PermissionDenied):
        services.routine_rate(routine=routine, member=member, rating=7)
    assert not RoutineRating.objects.exists()


def test_deleting_an_account_takes_its_routine_ratings_out_of_the_counts():
    routine, other_routine, member = RoutineFactory(), RoutineFactory(), UserFactory()
    routine_rating(routine=routine, member=member, rating=2)
    routine_rating(routine=other_routine, member=member, rating=5)
    routine_rating(routine=routine, rating=9)
    account_services.account_delete(user=member)
    assert stored_routine_counts(routine) == {"rating_count": 1, "rating_sum": 9}
    assert stored_routine_counts(other_routine) == {"rating_count": 0, "rating_sum": 0}


def test_helpful_vote_toggles_and_keeps_the_count():
    target = review(body="Text")
    voter = UserFactory()
    assert services.helpful_vote_toggle(review=target, voter=voter) == (True, 1)
    assert services.helpful_vote_toggle(review=target, voter=voter) == (False, 0)
    assert services.helpful_vote_toggle(review=target, voter=voter) == (True, 1)
    assert HelpfulVote.objects.filter(review=target).count() == 1


def test_nobody_marks_their_own_review_helpful():
    own = review(body="Text")
    with pytest.raises(PermissionDenied):
        services.helpful_vote_toggle(review=own, voter=own.author)
    assert not HelpfulVote.objects.exists()


def test_comments_keep_the_reviews_comment_count():
    target = review(body="Text")
    first = services.comment_create(review=target, author=UserFactory(), body="Agreed")
    services.comment_create(review=target, author=target.author, body="Thanks!")
    services.comment_delete(comment=first)
    services.comment_delete(comment=first)
    target.refresh_from_db()
    assert target.comment_count == 1 == Comment.objects.filter(review=target).count()


def test_a_member_reports_an_item_once():
    target = review(body="Text")
    reporter = UserFactory()
    services.report_create(reporter=reporter, review=target, reason="spam")
    with pytest.raises(services.AlreadyReported):
        services.report_create(reporter=reporter, review=target, reason="abuse")
    assert Report.objects.count() == 1


def test_deleting_an_account_takes_its_content_and_keeps_every_count_right():
    title = TitleFactory()
    leaving, staying = UserFactory(), UserFactory()
    their_review = review(title=title, author=leaving, rating=2, body="Meh")
    other_review = review(title=title, author=staying, rating=9, body="Great")
    services.helpful_vote_toggle(review=other_review, voter=leaving)
    services.comment_create(review=other_review, author=leaving, body="Nice one")
    services.comment_create(review=their_review, author=staying, body="Disagree")
    account_services.account_delete(user=leaving)

    assert not Review.objects.filter(pk=their_review.pk).exists()
    other_review.refresh_from_db()
    assert (other_review.helpful_count, other_review.comment_count) == (0, 0)
    assert services.review_counts_recount(other_review) == {"helpful_count": 0, "comment_count": 0}
    assert_aggregates_match_a_recount(title)


class TestConstraints:
    def test_one_review_per_member_per_title_in_the_database(self):
        existing = review()
        with pytest.raises(IntegrityError), transaction.atomic():
            Review.objects.create(title=existing.title, author=existing.author, rating=5)

    @pytest.mark.parametrize("rating", [0, 11])
    def test_rating_is_half_a_star_to_five_stars_in_the_database(self, rating):
        with pytest.raises(IntegrityError), transaction.atomic():
            Review.objects.create(title=TitleFactory(), author=UserFactory(), rating=rating)

    def test_a_headline_needs_text_under_it(self):
        with pytest.raises(IntegrityError), transaction.atomic():
            Review.objects.create(
                title=TitleFactory(), author=UserFactory(), rating=5, headline="Wow"
            )

    def test_one_helpful_vote_per_member_per_review(self):
        target, voter = review(body="x"), UserFactory()
        HelpfulVote.objects.create(review=target, voter=voter)
        with pytest.raises(IntegrityError), transaction.atomic():
            HelpfulVote.objects.create(review=target, voter=voter)

    def test_a_report_is_about_exactly_one_item(self):
        target = review(body="x")
        comment = services.comment_create(review=target, author=UserFactory(), body="c")
        with pytest.raises(IntegrityError), transaction.atomic():
            Report.objects.create(reporter=UserFactory(), reason="spam")
        with pytest.raises(IntegrityError), transaction.atomic():
            Report.objects.create(
                reporter=UserFactory(), review=target, comment=comment, reason="spam"
            )

    def test_one_rating_per_member_per_routine_in_the_database(self):
        rated = routine_rating()
        with pytest.raises(IntegrityError), transaction.atomic():
            RoutineRating.objects.create(routine=rated.routine, member=rated.member, rating=3)

    @pytest.mark.parametrize("rating", [0, 11])
    def test_a_routine_rating_is_half_a_star_to_five_stars_in_the_database(self, rating):
        with pytest.raises(IntegrityError), transaction.atomic():
            RoutineRating.objects.create(
                routine=RoutineFactory(), member=UserFactory(), rating=rating
            )

    def test_comment_length_is_limited_in_the_database(self):
        target = review(body="x")
        with pytest.raises(IntegrityError), transaction.atomic():
            Comment.objects.create(review=target, author=UserFactory(), body="x" * 2001)
        with pytest.raises(IntegrityError), transaction.atomic():
            Comment.objects.create(review=target, author=UserFactory(), body="")


# --- The stored counts (titles, reviews, best routines) equal a recount after any writes -

WRITE_MOMENTS = [
    datetime(2024, 1, 31, 23, 59, 59, tzinfo=UTC),
    datetime(2024, 2, 29, 23, 59, 59, tzinfo=UTC),
    datetime(2025, 12, 31, 23, 59, 59, tzinfo=UTC),
]

operations = st.lists(
    st.tuples(
        st.sampled_from(
            [
                "submit",
                "delete",
                "vote",
                "comment",
                "uncomment",
                "leave",
                "remove",
                "hold",
                "restore",
                "rate routine",
                "unrate routine",
                "suspend",
                "reinstate",
            ]
        ),
        st.integers(min_value=0, max_value=2),  # which member
        st.integers(min_value=0, max_value=1),  # which title (and which of its routines)
        st.integers(min_value=1, max_value=10),  # rating
        st.booleans(),  # with text
        # The best routine named: none, one of the title's own two, or another title's
        st.sampled_from([None, 0, 1, "elsewhere"]),
        # When the write happens: one of a few months (its last second, so a month
        # counted in the wrong time zone shows), for the titles' stored months of ratings.
        st.sampled_from(WRITE_MOMENTS),
    ),
    min_size=5,
    max_size=40,
)


@pytest.mark.slow  # 150 examples of up to 40 writes each
class TestAggregatesProperty(HypothesisTestCase):
    @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(operations)
    def test_stored_counts_equal_a_fresh_recount_after_any_writes(self, steps):
        members = [UserFactory(username=f"member{i}") for i in range(3)]
        titles = [TitleFactory(slug=f"title-{i}", franchise_position=50 + i) for i in range(2)]
        routines = {title.pk: RoutineFactory.create_batch(2, title=title) for title in titles}
        moderator = StaffUserFactory(username="moderator")
        # Every member starts with a review of the first title, so votes, comments and
        # moderation always have something to act on.
        for index, member in enumerate(members):
            services.review_submit(title=titles[0], author=member, rating=2 + index, body="Seed")
        for action, member_index, title_index, rating, with_text, choice, moment in steps:
            member, title = members[member_index], titles[title_index]
            if member is None:
                continue  # this member has left
            with mock.patch("django.utils.timezone.now", return_value=moment):
                members[member_index] = self.step(
                    action, member, title, titles, routines, moderator, rating, with_text, choice
                )
        for title in titles:
            assert stored_aggregates(title) == services.title_aggregates_recount(title)
            # The months of ratings behind the title page's chart: the same GROUP BY.
            assert counts.title_months_stored(title) == counts.title_months_recount(title)
            for routine in Routine.objects.filter(title=title):
                recount = services.best_routine_count_recount(routine)
                assert routine.best_routine_count == recount, routine.name
        for each in Review.objects.all():
            counts_now = {"helpful_count": each.helpful_count, "comment_count": each.comment_count}
            assert counts_now == services.review_counts_recount(each)
        for routine in (routine for pair in routines.values() for routine in pair):
            assert stored_routine_counts(routine) == services.routine_aggregates_recount(routine)

    @staticmethod
    def step(action, member, title, titles, routines, moderator, rating, with_text, choice):
        """One write of the mix; returns the member as they are after it (None: left)."""
        own = Review.objects.filter(title=title, author=member).first()
        others = Review.objects.published().filter(title=title).exclude(author=member)
        if action == "submit" and own and own.status == Status.REMOVED:
            with pytest.raises(services.ModerationHold):  # removed reviews stay as moderated
                services.review_submit(title=title, author=member, rating=rating)
        elif action == "submit" and choice == "elsewhere":
            other = titles[1 - titles.index(title)]
            with pytest.raises(ValidationError):  # another title's routine: refused
                services.review_submit(
                    title=title,
                    author=member,
                    rating=rating,
                    best_routine=routines[other.pk][0],
                )
        elif action == "submit":
            services.review_submit(
                title=title,
                author=member,
                rating=rating,
                body="Text" if with_text else "",
                best_routine=None if choice is None else routines[title.pk][choice],
            )
            if own:  # an edit never publishes a held review
                assert Review.objects.get(pk=own.pk).status == own.status
        elif action == "delete" and own and not own.is_published:
            with pytest.raises(services.ModerationHold):  # held or removed: it stays
                services.review_delete(review=own)
        elif action == "delete" and own:
            services.review_delete(review=own)
        elif action == "vote" and others.exists():
            services.helpful_vote_toggle(review=others.first(), voter=member)
        elif action == "comment" and others.exists():
            services.comment_create(review=others.first(), author=member, body="Agreed")
        elif action == "uncomment":
            comment = Comment.objects.filter(author=member).first()
            if comment and not comment.is_published:  # held or removed: it stays
                with pytest.raises(services.ModerationHold):
                    services.comment_delete(comment=comment)
            elif comment:
                services.comment_delete(comment=comment)
        elif action in {"remove", "hold", "restore"}:
            comment = Comment.objects.filter(author=member).first()
            status = {
                "remove": Status.REMOVED,
                "hold": Status.PENDING,
                "restore": Status.PUBLISHED,
            }[action]
            for item in filter(None, (own, comment)):
                moderation.content_moderate(item=item, status=status, moderator=None, reason="test")
        elif action in {"rate routine", "unrate routine"}:
            routine = routines[title.pk][choice if isinstance(choice, int) else 0]
            if action == "unrate routine":
                services.routine_rating_remove(routine=routine, member=member)
            elif not member.is_active:
                with pytest.raises(PermissionDenied):  # a suspended member rates nothing
                    services.routine_rate(routine=routine, member=member, rating=rating)
            else:
                services.routine_rate(routine=routine, member=member, rating=rating)
        elif action == "suspend" and member.is_active:
            member = account_services.account_suspend(
                member=member, moderator=moderator, reason="test", hide_content=True
            )
        elif action == "reinstate":
            member = account_services.account_unsuspend(member=member, moderator=moderator)
        elif action == "leave":
            account_services.account_delete(user=member)
            return None
        return member
