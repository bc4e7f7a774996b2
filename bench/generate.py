"""The bench community, generated and written in one pass, chunk by chunk: members joining
over the years, reviews bunched after each release with ratings as fans give them, helpful
votes on a long tail, comment threads, a few held or removed by moderators.

Nothing here goes through reviews.services: a million service calls would take hours. So
the counts the services keep (each review's helpful and comment counts) are computed here
while generating, and the titles' aggregates are recounted once at the end (bench/data.py)."""

import math
import random
import time
from dataclasses import dataclass
from datetime import date, datetime

from django.contrib.auth import get_user_model
from django.core.management.color import no_style
from django.db import connection
from django.utils import timezone

from bench.bulk import Sink, Table, max_pk
from bench.members import BENCH_EMAIL_DOMAIN, BENCH_PASSWORD, BENCH_PREFIX
from bench.texts import HOLD_REASONS, REMOVAL_REASONS, TextMaker
from films.models import Character, Crew, Routine, Title
from reviews.models import Comment, HelpfulVote, Review, Status

# Members are at least this old, so the rule holding reviews of young accounts
# (REVIEWS_HOLD_ACCOUNTS_YOUNGER_THAN_DAYS, 60 at most in practice) never applies to them.
MIN_ACCOUNT_AGE_DAYS = 61

# Half-star ratings 1..10 as fan sites see them: mostly 3 to 4.5 stars, a bump at five
# stars, a few half-star protest votes. Each title mixes the two shapes in its own
# proportion, so the titles' averages differ.
RATING_WEIGHTS_WARM = (2.0, 1.0, 1.2, 2.0, 3.0, 6.0, 10.0, 17.0, 17.0, 22.0)
RATING_WEIGHTS_COOL = (5.0, 2.5, 3.5, 5.5, 7.0, 11.0, 14.0, 15.0, 10.0, 12.0)
TEXT_SHARE = 0.57  # the rest are rating-only
HEADLINE_SHARE = 0.45  # of text reviews
SPOILER_SHARE = 0.088  # of text reviews: about 5% of all reviews
PENDING_SHARE = 0.005
REMOVED_SHARE = 0.003
EDITED_SHARE = 0.08
# One review in SPANISH_EVERY is written in Spanish (the title page lists the reader's
# language first): chosen by the review's id, not drawn, so the rest of a seed's data stays
# what it was before reviews had a language.
SPANISH_EVERY = 10

# Helpful votes on published text reviews: most get none, the rest a Pareto tail, so a
# few have hundreds. About 1.3 million votes for a million reviews.
VOTELESS_SHARE = 0.6
VOTE_PARETO_ALPHA = 1.05
MAX_VOTES_PER_REVIEW = 1500
COMMENTED_SHARE = 0.085  # of published text reviews
COMMENTS_PER_THREAD_CUMULATIVE = (45, 70, 85, 94, 100)  # 1 to 5 comments
COMMENT_PENDING_SHARE = 0.01
COMMENT_REMOVED_SHARE = 0.005
CHUNK = 20_000  # reviews generated and written at a time: texts never all in memory

# Plain strings: the enum's attribute lookup shows in a profile over a million reviews.
PUBLISHED, PENDING, REMOVED = (
    Status.PUBLISHED.value,
    Status.PENDING.value,
    Status.REMOVED.value,
)
_EPOCH = datetime(1970, 1, 1)


def _epoch_seconds(day):
    return (datetime(day.year, day.month, day.day) - _EPOCH).total_seconds()


@dataclass
class Summary:
    users: int = 0
    reviews: int = 0
    text_reviews: int = 0
    votes: int = 0
    comments: int = 0


class Generator:
    """Generates and writes the bench community in one pass, chunk by chunk."""

    def __init__(self, *, users, review_counts, seed, log):
        self.n_users = users
        self.review_counts = review_counts
        self.rng = random.Random(seed)
        self.log = log
        # Midnight today: the same --seed gives the same data all day long.
        today = timezone.now().date()
        self.now = _epoch_seconds(today)
        self.summary = Summary()

    def run(self):
        started = time.monotonic()
        User = get_user_model()
        self.users_table = Table(
            User,
            ["id", "password", "last_login", "is_superuser", "username", "first_name",
             "last_name", "email", "is_staff", "is_active", "date_joined", "is_sample",
             "suspended_at"],
        )  # fmt: skip
        self.reviews_table = Table(
            Review,
            ["id", "status", "moderation_reason", "moderated_by", "moderated_at",
             "hidden_by_suspension", "title", "author", "rating", "headline", "body",
             "contains_spoilers", "helpful_count", "comment_count", "is_featured",
             "featured_at", "created_at", "updated_at", "language"],
        )  # fmt: skip
        self.votes_table = Table(HelpfulVote, ["id", "review", "voter", "created_at"])
        self.comments_table = Table(
            Comment,
            ["id", "status", "moderation_reason", "moderated_by", "moderated_at",
             "hidden_by_suspension", "review", "author", "body", "created_at", "updated_at"],
        )  # fmt: skip
        titles = list(
            Title.objects.filter(pk__in=self.review_counts).order_by("franchise_position")
        )
        with connection.cursor() as cursor:
            self.user_base = max_pk(cursor, User)
            self.review_id = max_pk(cursor, Review)
            self.vote_id = max_pk(cursor, HelpfulVote)
            self.comment_id = max_pk(cursor, Comment)
            self.texts = TextMaker(self.rng, titles, _flavour(titles))
            self.sink = Sink(cursor)
            try:
                self._users(titles)
                self.log(
                    f"users: {self.summary.users:,} generated, {time.monotonic() - started:.0f} s"
                )
                for title in titles:
                    self._reviews_of(title, self.review_counts[title.pk], started)
            finally:
                self.sink.stop()
            self.sink.close()
            self.log(f"all rows written, {time.monotonic() - started:.0f} s")
            # Explicit ids leave PostgreSQL's sequences behind: the next sign-up, review,
            # vote or comment must not collide with them.
            for sql in connection.ops.sequence_reset_sql(
                no_style(), [User, Review, HelpfulVote, Comment]
            ):
                cursor.execute(sql)
        for table in (self.users_table, self.reviews_table, self.votes_table, self.comments_table):
            self.log(
                f"  {table.name}: {self.sink.rows.get(table.name, 0):,} rows, "
                f"{self.sink.seconds.get(table.name, 0):.1f} s writing"
            )
        return self.summary

    def _users(self, titles):
        rng = self.rng
        # Members join from the first release on (or 400 days back, for new titles only).
        start = min(
            [_epoch_seconds(_release(title)) for title in titles] + [self.now - 400 * 86400]
        )
        end = self.now - MIN_ACCOUNT_AGE_DAYS * 86400
        # More members join as the site grows: sqrt pushes the dates towards recent years.
        # Sorted, so the ids follow the order of joining as they would on the site.
        self.joined = sorted(
            start + (end - start) * math.sqrt(rng.random()) for _ in range(self.n_users)
        )
        stamp = self.sink.stamp
        rows = []
        for index, joined in enumerate(self.joined):
            username = f"{BENCH_PREFIX}{index + 1:07d}"
            last_login = joined + (self.now - joined) * rng.random()
            rows.append(
                (self.user_base + index + 1, BENCH_PASSWORD, stamp(last_login), False, username,
                 "", "", f"{username}@{BENCH_EMAIL_DOMAIN}", False, True, stamp(joined), False,
                 None)
            )  # fmt: skip
            if len(rows) >= CHUNK * 2:
                self.sink.write(self.users_table, rows)
                rows = []
        self.sink.write(self.users_table, rows)
        self.summary.users = self.n_users

    def _reviews_of(self, title, count, started):
        rng = self.rng
        now = self.now
        opened = min(_epoch_seconds(_release(title)), now - 86400)
        mix = rng.uniform(0.3, 0.95)
        weights = [
            mix * warm + (1 - mix) * cool
            for warm, cool in zip(RATING_WEIGHTS_WARM, RATING_WEIGHTS_COOL, strict=True)
        ]
        ratings = rng.choices(range(1, 11), weights=weights, k=count)
        authors = rng.sample(range(self.n_users), count)
        joined = self.joined
        moments = []
        for author in authors:
            since = max(opened, joined[author])
            # Squared: reviews bunch up after the release (or the member's joining).
            moments.append((since + (now - since) * rng.random() ** 2, author))
        # Sorted so ids follow posting time, as on the site.
        moments.sort()
        for offset in range(0, count, CHUNK):
            self._chunk(
                title,
                moments[offset : offset + CHUNK],
                ratings[offset : offset + CHUNK],
            )
            self.log(
                f"reviews: {title.name} {min(offset + CHUNK, count):,}/{count:,}, "
                f"total {self.summary.reviews:,} reviews, {self.summary.votes:,} votes, "
                f"{self.summary.comments:,} comments, {time.monotonic() - started:.0f} s"
            )

    def _chunk(self, title, moments, ratings):
        rng = self.rng
        random_ = rng.random
        now = self.now
        n_users = self.n_users
        user_base = self.user_base
        stamp = self.sink.stamp
        texts = self.texts
        title_id = title.pk
        max_votes = min(MAX_VOTES_PER_REVIEW, n_users - 1)
        reviews, votes, comments = [], [], []
        summary = self.summary
        for (posted, author), rating in zip(moments, ratings, strict=True):
            self.review_id += 1
            review_id = self.review_id
            has_text = random_() < TEXT_SHARE
            if has_text:
                body = texts.body(title_id, rating)
                headline = texts.headline(title_id, rating) if random_() < HEADLINE_SHARE else ""
                spoilers = random_() < SPOILER_SHARE
                summary.text_reviews += 1
            else:
                body = headline = ""
                spoilers = False
            draw = random_()
            moderated_at = None
            reason = ""
            if draw < REMOVED_SHARE:
                status = REMOVED
                reason = rng.choice(REMOVAL_REASONS)
                moderated_at = stamp(min(now, posted + rng.uniform(600, 3 * 86400)))
            elif draw < REMOVED_SHARE + PENDING_SHARE:
                status = PENDING
                reason = rng.choice(HOLD_REASONS)
                if reason:
                    moderated_at = stamp(min(now, posted + rng.uniform(600, 86400)))
            else:
                status = PUBLISHED
            created = stamp(posted)
            if random_() < EDITED_SHARE:
                updated = stamp(min(now, posted + rng.uniform(3600, 90 * 86400)))
            else:
                updated = created
            helpful = commented = 0
            # Only published reviews can be voted on or answered (as in reviews.services).
            if has_text and status == PUBLISHED and max_votes > 0:
                if random_() >= VOTELESS_SHARE:
                    helpful = int(rng.paretovariate(VOTE_PARETO_ALPHA))
                    while helpful > max_votes:  # redrawn, not capped: no pile-up at the cap
                        helpful = int(rng.paretovariate(VOTE_PARETO_ALPHA))
                    for voter in _others(rng, n_users, author, helpful):
                        self.vote_id += 1
                        voted = posted + (now - posted) * random_() ** 3
                        votes.append((self.vote_id, review_id, user_base + voter + 1, stamp(voted)))
                if random_() < COMMENTED_SHARE:
                    thread = rng.choices(range(1, 6), cum_weights=COMMENTS_PER_THREAD_CUMULATIVE)[0]
                    thread = min(thread, n_users - 1)
                    when = sorted(posted + (now - posted) * random_() ** 2 for _ in range(thread))
                    for commenter, moment in zip(
                        _others(rng, n_users, author, thread), when, strict=True
                    ):
                        self.comment_id += 1
                        draw = random_()
                        comment_reason = ""
                        comment_moderated = None
                        if draw < COMMENT_REMOVED_SHARE:
                            comment_status = REMOVED
                            comment_reason = rng.choice(REMOVAL_REASONS)
                            comment_moderated = stamp(min(now, moment + 3600))
                        elif draw < COMMENT_REMOVED_SHARE + COMMENT_PENDING_SHARE:
                            comment_status = PENDING
                        else:
                            comment_status = PUBLISHED
                            commented += 1  # only published comments are counted
                        at = stamp(moment)
                        comments.append(
                            (self.comment_id, comment_status, comment_reason, None,
                             comment_moderated, False, review_id, user_base + commenter + 1,
                             texts.comment(title_id), at, at)
                        )  # fmt: skip
            reviews.append(
                (review_id, status, reason, None, moderated_at, False, title_id,
                 user_base + author + 1, rating, headline, body, spoilers, helpful, commented,
                 False, None, created, updated, "es" if review_id % SPANISH_EVERY == 0 else "en")
            )  # fmt: skip
        summary.reviews += len(reviews)
        summary.votes += len(votes)
        summary.comments += len(comments)
        # Reviews first: the votes and comments refer to them.
        self.sink.write(self.reviews_table, reviews)
        self.sink.write(self.votes_table, votes)
        self.sink.write(self.comments_table, comments)


def _release(title):
    return title.release_date or date(title.release_year, 1, 1)


def _others(rng, n_users, author, count):
    """`count` distinct member indexes, never the author's."""
    if count <= 0:
        return []
    picked = rng.sample(range(n_users), count + 1)
    if author in picked:
        picked.remove(author)
    else:
        picked.pop()
    return picked


def _flavour(titles):
    """Each title's character, crew and routine names, for texts that sound like fans."""
    flavour = {}
    for title in titles:
        characters = list(
            Character.objects.filter(credits__title=title).values_list("name", flat=True).distinct()
        )
        crews = list(
            Crew.objects.filter(memberships__title=title).values_list("name", flat=True).distinct()
        )
        routines = list(Routine.objects.filter(title=title).values_list("name", flat=True))
        flavour[title.pk] = (sorted(characters), sorted(crews), sorted(routines))
    return flavour
