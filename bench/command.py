import time

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction

from bench.data import (
    ALL_IN_NAME,
    BENCH_PREFIX,
    BenchDeleteError,
    Generator,
    all_in_slug,
    analyze,
    bench_users,
    delete_bench_data,
    foreign_keys_checked_at_the_end,
    recount_titles,
    split_reviews,
)
from films.models import Title
from reviews.models import Comment, HelpfulVote, Review
from stepup_site.caching import content_changed


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

        tuned = self._tune_sqlite()
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
            self._untune_sqlite(tuned)
        if not connection.in_atomic_block:
            log(f"committed in {time.monotonic() - phase:.1f} s")
        phase = time.monotonic()
        analyze(
            [
                model._meta.db_table
                for model in (get_user_model(), Title, Review, HelpfulVote, Comment)
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

    def _tune_sqlite(self):
        """Faster bulk writes for the length of the load, on a connection of our own only.

        PRAGMAs cannot change inside a transaction (a test's, a caller's atomic block), and
        the load is one transaction anyway, so losing power mid-load loses only the load.
        Foreign keys are checked once at the end instead of row by row (see
        foreign_keys_checked_at_the_end).
        """
        if connection.vendor != "sqlite" or connection.in_atomic_block:
            return None
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA synchronous")
            synchronous = cursor.fetchone()[0]
            cursor.execute("PRAGMA cache_size")
            cache_size = cursor.fetchone()[0]
            cursor.execute("PRAGMA synchronous = OFF")
            cursor.execute("PRAGMA cache_size = -1000000")  # about 1 GB, in KiB
        connection.disable_constraint_checking()
        return synchronous, cache_size

    def _untune_sqlite(self, tuned):
        if tuned is None:
            return
        synchronous, cache_size = tuned
        connection.enable_constraint_checking()
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA synchronous = {int(synchronous)}")
            cursor.execute(f"PRAGMA cache_size = {int(cache_size)}")
            # The load went through the write-ahead log: fold it back into the database
            # file and truncate it, rather than leave a log the size of the data behind.
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
