"""Load-test the site as production serves it: `make bench` (python -m bench --help).

Builds or reuses a benchmark database, serves it with gunicorn, DEBUG off and the hashed
static files, then measures each main page for a fixed time with wrk from a second process.
Prints a table, writes it as Markdown (with a description of the machine) to
bench-results-<sqlite|postgresql>.md, and exits non-zero when any request failed, a worker
grew past RSS_LIMIT_MB, or a title's stored rating aggregates stopped matching its reviews.

Before that table, the mixed load (bench/mixed.py, --only mixed): the main pages read
while a writer process posts at each of --write-rates a second. After it, each main page's
uncached server time in process (bench/uncached.py, --only uncached).

--soak (`make soak`) instead runs one wrk run of mixed requests (60 s, 32 connections): reads
of every main page, anonymous and signed in, with members posting and editing reviews,
marking reviews helpful and commenting, each member well inside the site's rate limits.
Afterwards every title's aggregates and every review's helpful and comment counts are checked
against a recount, and what the run posted is taken away through reviews.services.
Written to bench-results-soak-<sqlite|postgresql>.md.

Database: DATABASE_URL when set (PostgreSQL), otherwise bench.sqlite3 beside manage.py.
Cache: REDIS_URL when set, otherwise each worker's own local memory.
The data alone: python -m bench data --help.
"""

import argparse
import os
import runpy
import shutil
import signal
import subprocess
import sys

from bench.load import ALL_IN_NAME, all_in_title
from bench.mixed import parse_rates
from bench.mixed import run_section as run_mixed
from bench.report import exit_status, machine_description, markdown_table, text_table, write_results
from bench.server import (
    GUNICORN_CONF,
    PROJECT_ROOT,
    bench_environment,
    setup_django,
)
from bench.sessions import POSTED_HEADLINE
from bench.soak import SOAK_COMMENT_TEXT, run_soak
from bench.standard import HEADINGS, STANDARD_GROUPS, run_standard, table_rows
from bench.uncached import run_for_bench as run_uncached

# What --only picks from; /healthz is the baseline and always measured. "mixed": pages
# read while a writer posts (bench/mixed.py); "uncached": each main page's server time
# with every cache empty (bench/uncached.py).
GROUPS = (*STANDARD_GROUPS, "mixed", "uncached")


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    data = parser.add_argument_group("benchmark data (python -m bench data)")
    data.add_argument(
        "--users",
        type=int,
        default=100_000,
        help="members (default %(default)s; the generator raises it to what All In needs)",
    )
    data.add_argument(
        "--reviews", type=int, default=1_000_000, help="reviews in all (default %(default)s)"
    )
    data.add_argument(
        "--all-in-reviews",
        type=int,
        default=250_000,
        help=f"reviews of {ALL_IN_NAME} among them (default %(default)s)",
    )
    data.add_argument(
        "--skip-data",
        action="store_true",
        help="no generation: measure the bench data already in the database (migrations and "
        "the catalog are still brought up to date)",
    )
    load = parser.add_argument_group("load")
    load.add_argument(
        "--soak",
        action="store_true",
        help="one run of mixed reads and writes instead of a run per endpoint (make soak)",
    )
    load.add_argument(
        "--duration",
        type=int,
        default=None,
        help="seconds per endpoint (default 10), or of the whole soak (default 60)",
    )
    load.add_argument(
        "--warmup",
        type=int,
        default=2,
        help="seconds of warm-up before each (default 2; the soak has none: it starts cold, "
        "as after a deploy)",
    )
    load.add_argument(
        "--connections",
        type=int,
        default=None,
        help="wrk keep-alive connections (default 16; 32 for the soak)",
    )
    load.add_argument("--wrk-threads", type=int, default=2, help="wrk threads (default 2)")
    load.add_argument(
        "--timeout",
        type=int,
        default=10,
        help="seconds before wrk gives a request up as an error (default %(default)s; wrk's "
        "own 2 s would turn a slow page into errors and leave it out of the latencies)",
    )
    load.add_argument(
        "--deep-page", type=int, default=5000, help="the deep review page (default 5000)"
    )
    load.add_argument(
        "--signed-in-users",
        type=int,
        default=400,
        help="members whose sessions the signed-in runs rotate through (default 400)",
    )
    load.add_argument(
        "--signed-in-warmup",
        type=int,
        default=10,
        help="seconds of warm-up before the signed-in run (default %(default)s): long "
        "enough for each worker to have shown most of the members their page once, so the "
        "run measures members opening it again; the first-visits run measures the rest",
    )
    load.add_argument(
        "--first-visits",
        type=int,
        default=8000,
        help="members for the first-visits run, each sent once (default %(default)s)",
    )
    load.add_argument(
        "--only",
        default="",
        help=f"measure only these, comma-separated, from {', '.join(GROUPS)} (/healthz is "
        "always measured; the write run and its aggregate check only when 'write' is chosen)",
    )
    load.add_argument(
        "--write-rates",
        default="0,1,5,20",
        help="mixed load: the background writer's writes a second, a run of the pages at "
        "each (default %(default)s; --only mixed runs that section alone)",
    )
    load.add_argument(
        "--renders",
        type=int,
        default=30,
        help="uncached server time: renders of each page (default %(default)s)",
    )
    server = parser.add_argument_group("gunicorn (defaults: stepup_site/gunicorn.conf.py)")
    server.add_argument("--workers", type=int, default=None, help="worker processes")
    server.add_argument(
        "--threads", type=int, default=None, help="threads per worker (1: sync workers)"
    )
    args = parser.parse_args(argv)
    try:
        args.write_rates = parse_rates(args.write_rates)
    except argparse.ArgumentTypeError as error:
        parser.error(str(error))
    if args.soak and args.only:
        parser.error("--only picks endpoints of the bench; the soak mixes them all")
    if args.duration is None:
        args.duration = 60 if args.soak else 10
    if args.connections is None:
        args.connections = 32 if args.soak else 16
    if args.soak:
        args.warmup = 0
    return args


def run_python(env, *arguments):
    """`python <arguments>` in a process of its own, from the project folder."""
    print(f"$ python {' '.join(arguments)}", flush=True)
    subprocess.run([sys.executable, *arguments], cwd=PROJECT_ROOT, env=env, check=True)


def manage(env, *arguments):
    run_python(env, "manage.py", *arguments)


def bench_sizes():
    """(bench members, their reviews, their reviews of All In) in the database now."""
    from bench.members import bench_users
    from films.models import Title
    from reviews.models import Review

    bench_reviews = Review.objects.filter(author__in=bench_users())
    return (
        bench_users().count(),
        bench_reviews.count(),
        bench_reviews.filter(title__in=Title.objects.filter(name=ALL_IN_NAME)).count(),
    )


def delete_leftover_posts():
    """Reviews and comments an earlier run posted and could not take away (it was killed):
    they would make the data look changed and have it generated again. (A killed soak's
    helpful marks cannot be told from the generated ones; the counts stay right.)"""
    from django.db import transaction

    from reviews import services
    from reviews.models import Comment, Review

    for comment in Comment.objects.filter(body__startswith=SOAK_COMMENT_TEXT):
        # In a transaction of its own whether or not the service opens one: its row locks
        # (select_for_update) need one on PostgreSQL.
        with transaction.atomic():
            services.comment_delete(comment=comment)
    leftovers = Review.objects.filter(headline__startswith=POSTED_HEADLINE)
    for review in leftovers:
        services.review_delete(review=review)


def prepare_data(args, env):
    manage(env, "migrate", "--noinput", "-v", "0")
    manage(env, "load_catalog", "-v", "0")
    from django.db import connections

    delete_leftover_posts()
    if args.skip_data:
        return
    members, reviews, all_in_reviews = found = bench_sizes()
    connections.close_all()
    # The generator raises the member count when the busiest title needs more distinct authors.
    if members >= args.users and (reviews, all_in_reviews) == (args.reviews, args.all_in_reviews):
        # Generating takes minutes at full size: a second run measures the same data again
        # (the write run deletes the reviews it created, so the counts stay exact).
        print(f"Reusing the benchmark data: {members} members, {reviews} reviews.", flush=True)
        return
    wanted = (args.users, args.reviews, args.all_in_reviews)
    print(f"Benchmark data (members, reviews, All In): found {found}, want {wanted}.", flush=True)
    run_python(
        env,
        "-m",
        "bench",
        "data",
        "--users",
        str(args.users),
        "--reviews",
        str(args.reviews),
        "--all-in-reviews",
        str(args.all_in_reviews),
        # Deletes only the bench members and what they wrote; nothing on an empty database.
        "--replace",
    )
    from django.conf import settings
    from django.core.cache import caches

    # The generator writes in bulk, past the signals that tell cached pages the content
    # changed: start from empty caches (with REDIS_URL, its whole Redis database).
    for alias in settings.CACHES:
        caches[alias].clear()


def main(argv=None):
    args = parse_args(argv)
    # A CI timeout or `kill` stops the run like Ctrl-C does: through the finally blocks that
    # stop gunicorn and take the run's reviews and sessions away again.
    signal.signal(signal.SIGTERM, lambda _signal, _frame: sys.exit(128 + signal.SIGTERM))
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: `make bench` installs Debian's wrk when run as root.")
    load_before = os.getloadavg()[0]
    if load_before > 0.5 * (os.cpu_count() or 1):
        # wrk, gunicorn and the database share these cores with whatever else runs.
        print(
            f"!!! The machine is busy (load average {load_before:.1f} on "
            f"{os.cpu_count()} cores): the numbers will be low and noisy.",
            flush=True,
        )
    only = [part.strip() for part in args.only.split(",") if part.strip()]
    chosen = {group for group in GROUPS if not only or any(part in group for part in only)}
    env = bench_environment(args)
    setup_django(env)
    prepare_data(args, env)
    manage(env, "collectstatic", "--noinput", "-v", "0")

    from django.db import connection, connections

    vendor = connection.vendor
    title = all_in_title()
    # Read with this run's GUNICORN_* environment: what gunicorn will use, for the report.
    gunicorn_settings = runpy.run_path(str(GUNICORN_CONF))
    if args.soak:
        return run_soak(args, env, title, gunicorn_settings, load_before)
    failures = []
    mixed_text, mixed_markdown = "", []
    if "mixed" in chosen:
        mixed_text, mixed_markdown, mixed_failures = run_mixed(args, env, title, gunicorn_settings)
        failures += mixed_failures
    measurements, notes, server = [], [], None
    if chosen & set(STANDARD_GROUPS):
        measurements, notes, server, standard_failures = run_standard(
            args, env, title, chosen, gunicorn_settings
        )
        failures += standard_failures
    uncached_text, uncached_markdown = "", []
    if "uncached" in chosen:
        uncached_text, uncached_markdown = run_uncached(env, args.renders)

    rows = table_rows(measurements)
    if mixed_text:
        print(mixed_text)
    if rows:
        print()
        print(text_table(HEADINGS, rows))
        print("\n".join(["", *notes]))
    if uncached_text:
        print(uncached_text)
    # The mixed-load table first (the headline), then the per-endpoint table and the
    # uncached server times; each only when it was measured.
    standard = ["#### Each page alone", "", markdown_table(HEADINGS, rows), "", *notes, ""]
    write_results(
        vendor,
        f"Benchmark on {vendor}",
        machine_description(env, gunicorn_settings, args, load_before),
        [*mixed_markdown, *(standard if rows else []), *uncached_markdown],
    )
    connections.close_all()
    return exit_status(failures, server)
