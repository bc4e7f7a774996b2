"""`python -m bench data`: fills a freshly migrated database (catalog loaded) with a
realistic-size community of generated members with reviews, helpful votes and comments,
written straight to the database (COPY on PostgreSQL, executemany on SQLite) for load tests
and query plans. Here: the command, how many reviews each title gets, and the finish
(titles recounted, page caches told, statistics refreshed); bench/generate.py makes the rows."""

import json
import time

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction

from bench.bulk import analyze, foreign_keys_checked_at_the_end, tune_sqlite, untune_sqlite
from bench.generate import Generator
from bench.load import ALL_IN_NAME
from bench.members import BENCH_PREFIX, BenchDeleteError, bench_users, delete_bench_data
from core.caching import content_changed
from films.models import Title
from films.services import CATALOG_FILE
from reviews.counts import title_months_rebuild
from reviews.models import Comment, HelpfulVote, Review, TitleMonth
from reviews.services import title_aggregates_recount

# How the reviews not on All In spread over the other titles, by franchise position: the
# first film has the biggest audience and each sequel a smaller one; a series smaller still.
SEQUEL_FALLOFF = 0.8
SERIES_WEIGHT = 0.2


def all_in_slug():
    """The slug of Step Up: All In, as the catalog file gives it."""
    catalog = json.loads(CATALOG_FILE.read_text(encoding="utf-8"))
    for entry in catalog["titles"]:
        if entry["name"] == ALL_IN_NAME:
            return entry["slug"]
    return None


def split_reviews(titles, all_in, total, on_all_in):
    """How many reviews each title gets: exactly `on_all_in` on All In, the rest spread
    over the other titles by franchise position (largest remainders, so the sum is exact)."""
    others = [title for title in titles if title.pk != all_in.pk]
    counts = {all_in.pk: on_all_in}
    rest = total - on_all_in
    if not others:
        counts[all_in.pk] += rest
        return counts
    weights = [
        SERIES_WEIGHT if title.is_series else SEQUEL_FALLOFF ** (rank)
        for rank, title in enumerate(others)
    ]
    shares = [rest * weight / sum(weights) for weight in weights]
    floors = [int(share) for share in shares]
    by_remainder = sorted(range(len(others)), key=lambda i: floors[i] - shares[i])
    for i in by_remainder[: rest - sum(floors)]:
        floors[i] += 1
    counts.update({title.pk: count for title, count in zip(others, floors, strict=True)})
    return counts


def recount_titles():
    """Every title's stored aggregates and months of ratings, set to a fresh count of its
    published reviews."""
    for title in Title.objects.order_by("pk"):
        Title.objects.filter(pk=title.pk).update(**title_aggregates_recount(title))
        title_months_rebuild(title)


class Command(BaseCommand):
    help = (
        "Fill a freshly migrated database (catalog loaded) with a realistic-size community "
        f"for benchmarks: members named {BENCH_PREFIX}0000001 and up, with reviews, helpful "
        "votes and comments. Refuses a database that already has reviews or bench members "
        "unless --replace is given."
    )

    def add_arguments(self, parser):
        parser.add_argument("--users", type=int, default=100_000, help="Bench members.")
        parser.add_argument("--reviews", type=int, default=1_000_000, help="Reviews in all.")
        parser.add_argument(
            "--all-in-reviews",
            type=int,
            default=250_000,
            help=f"Of those, reviews of {ALL_IN_NAME}.",
        )
        parser.add_argument("--seed", type=int, default=1, help="Same seed, same data.")
        parser.add_argument(
            "--replace",
            action="store_true",
            help="Delete the bench members and all they wrote first (real members' content "
            "stays), then generate afresh.",
        )

    def handle(self, *args, users, reviews, all_in_reviews, seed, replace, verbosity, **options):
        started = time.monotonic()

        def log(message):
            if verbosity:
                self.stdout.write(message)
                self.stdout.flush()

        if users < 1 or reviews < 0 or not 0 <= all_in_reviews <= reviews:
            raise CommandError(
                "need --users >= 1 and 0 <= --all-in-reviews <= --reviews "
                f"(got {users}, {all_in_reviews}, {reviews})"
            )
        slug = all_in_slug()
        all_in = Title.objects.filter(slug=slug).first() if slug else None
        if all_in is None:
            raise CommandError(
                f"{ALL_IN_NAME} is not in the database: run `manage.py load_catalog` first"
            )
        if not replace and (Review.objects.exists() or bench_users().exists()):
            raise CommandError(
                "the database already holds reviews or bench members: bench data goes into "
                "a fresh database (migrate, then load_catalog). Use --replace to delete the "
                "bench members and all they wrote first; real members' content stays."
            )

        titles = list(Title.objects.order_by("franchise_position"))
        counts = split_reviews(titles, all_in, reviews, all_in_reviews)
        # One review per member per title (a database constraint): the busiest title
        # needs that many distinct members.
        needed = max(counts.values(), default=0)
        if users < needed:
            busiest = max(titles, key=lambda title: counts[title.pk])
            self.stderr.write(
                self.style.WARNING(
                    f"NOTE: raising --users from {users:,} to {needed:,}. Each member reviews "
                    f"a title at most once, and {busiest.name} gets {needed:,} reviews, so "
                    f"it needs {needed:,} distinct members."
                )
            )
            users = needed

        tuned = tune_sqlite()
        try:
            with transaction.atomic():
                with foreign_keys_checked_at_the_end(
                    [get_user_model(), Review, HelpfulVote, Comment], log
                ):
                    if replace:
                        phase = time.monotonic()
                        try:
                            deleted = delete_bench_data()
                        except BenchDeleteError as error:
                            raise CommandError(f"bench data not replaced: {error}") from error
                        done = ", ".join(f"{n:,} {label}" for label, n in deleted.items() if n)
                        log(
                            f"deleted old bench data: {done or 'none'} "
                            f"({time.monotonic() - phase:.1f} s)"
                        )
                    summary = Generator(users=users, review_counts=counts, seed=seed, log=log).run()
                phase = time.monotonic()
                recount_titles()
                log(f"title aggregates recounted in {time.monotonic() - phase:.1f} s")
                # Raw SQL sends no signal: say so to the page cache, or pages cached
                # before the load would outlive it.
                content_changed()
                phase = time.monotonic()
        finally:
            untune_sqlite(tuned)
        if not connection.in_atomic_block:
            log(f"committed in {time.monotonic() - phase:.1f} s")
        phase = time.monotonic()
        analyze(
            [
                model._meta.db_table
                for model in (get_user_model(), Title, TitleMonth, Review, HelpfulVote, Comment)
            ]
        )
        log(f"statistics refreshed in {time.monotonic() - phase:.1f} s")
        log(
            self.style.SUCCESS(
                f"bench data: {summary.users:,} members, {summary.reviews:,} reviews "
                f"({summary.text_reviews:,} with text, {all_in_reviews:,} of {all_in.name}), "
                f"{summary.votes:,} helpful votes, {summary.comments:,} comments, "
                f"in {time.monotonic() - started:.1f} s on {connection.vendor}"
            )
        )
