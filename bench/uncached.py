"""Uncached server time of each main page: python -m bench.uncached --help.

Renders each page in this process through Django's test client (the whole middleware
stack, production settings: DEBUG off), emptying every cache before each render: every
alias in settings.CACHES (with REDIS_URL, the site's keys in that Redis database) and the
page caches' copies in this process's memory. So each timing is what a reader waits for
when nothing is cached: a page after a write made it stale, at its worst. The first
render of each page is not timed (it loads and compiles the templates, once per process).

Reads the benchmark data of `make bench` (bench.sqlite3, or DATABASE_URL); `make bench`
runs it after the load (--only uncached for this alone). --profile PAGE runs the renders
of one page under pyinstrument (requirements-test.txt) and writes its text report.
"""

import argparse
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.load import ALL_IN_NAME, all_in_title
from bench.report import markdown_table, text_table
from bench.server import PROJECT_ROOT

PAGES = (
    "home",
    "all-in",
    "all-in-signed-in",
    "person",
    "character",
    "crew",
    "titles",
    "review",
    "search",
    "routines",
    "routine",
    "characters",
    "franchise",
)
HEADINGS = ["page", "path", "median ms", "p95 ms", "min ms", "queries", "KB"]


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="python -m bench.uncached",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--renders", type=int, default=30, help="timed renders of each page (default 30)"
    )
    parser.add_argument(
        "--pages",
        default=",".join(PAGES),
        help="comma-separated, from: " + ", ".join(PAGES) + " (default: all)",
    )
    parser.add_argument("--markdown", help="also write the table as Markdown to this file")
    parser.add_argument(
        "--profile",
        metavar="PAGE",
        help="profile the renders of this page with pyinstrument instead of timing them all",
    )
    parser.add_argument(
        "--profile-output",
        default="docs/profiles/all-in-uncached.txt",
        help="pyinstrument's text report for --profile (default %(default)s)",
    )
    args = parser.parse_args(argv)
    args.pages = [page.strip() for page in args.pages.split(",") if page.strip()]
    unknown = set(args.pages) - set(PAGES) | ({args.profile} - {None, *PAGES})
    if unknown:
        parser.error(f"unknown pages: {', '.join(sorted(unknown))}")
    if args.renders < 1:
        parser.error("--renders must be at least 1")
    return args


def percentile(values, share):
    """Nearest-rank percentile: the smallest value with `share` of them at or below it."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def setup():
    # Production settings, unless the caller (make bench) set them already.
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "stepup_site.settings")
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{PROJECT_ROOT / 'bench.sqlite3'}")
    os.environ.setdefault("DEBUG", "0")
    os.environ.setdefault("SECRET_KEY", "render-times-only-" + "x" * 50)
    os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
    os.environ.setdefault("ALLOWED_HOSTS", "testserver")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.conf import settings

    # The test client's host name.
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]


def empty_caches():
    """Every cache the site reads: each alias of settings.CACHES, and the page caches'
    copies kept in this process."""
    from django.conf import settings
    from django.core.cache import caches

    from core import caching

    for alias in settings.CACHES:
        caches[alias].clear()
    for value in vars(caching).values():
        clear = getattr(value, "clear", None)
        # The process-wide stores (an instance with a clear(), not a class or a module).
        if callable(clear) and type(value).__module__ == caching.__name__:
            clear()


def page_paths(pages):
    """{page: (path, signed in)} on the data in the database."""
    from django.urls import reverse

    from films.models import Character, Credit, Crew
    from reviews.models import Review

    title = all_in_title()
    director = (
        Credit.objects.filter(title=title, role=Credit.Role.DIRECTOR)
        .select_related("person")
        .order_by("pk")
        .first()
    )
    review = (
        Review.objects.published()
        .with_text()
        .filter(title=title)
        .order_by("-helpful_count", "-pk")
        .first()
    )
    paths = {
        "home": "/",
        "all-in": title.get_absolute_url(),
        "all-in-signed-in": title.get_absolute_url(),
        "person": director.person.get_absolute_url() if director else None,
        "character": getattr(Character.objects.order_by("pk").first(), "get_absolute_url", None),
        "crew": getattr(Crew.objects.order_by("pk").first(), "get_absolute_url", None),
        "titles": reverse("films:title_list"),
        "review": reverse("reviews:detail", kwargs={"pk": review.pk}) if review else None,
        "search": "/search/?q=moose",
        "routines": reverse("films:routine_list"),
        "routine": getattr(
            title.routines.order_by("-order", "-pk").first(), "get_absolute_url", None
        ),
        "characters": reverse("films:character_list"),
        # The charts' page; All In's own charts (its months of ratings) are on "all-in".
        "franchise": reverse("films:franchise"),
    }
    found = {}
    for page in pages:
        path = paths[page]
        path = path() if callable(path) else path
        if path is None:
            raise SystemExit(f"No {page} page in this data: load the catalog and bench data.")
        found[page] = (path, page.endswith("signed-in"))
    return found


def signed_in_member():
    """A bench member with no review of All In: the page as most members see it."""
    from bench.members import bench_users

    member = bench_users().filter(is_active=True).exclude(reviews__title__name=ALL_IN_NAME)
    member = member.order_by("pk").first() or bench_users().order_by("pk").first()
    if member is None:
        raise SystemExit("No bench members: generate the data (make bench) first.")
    return member


def client_for(signed_in, member):
    from django.test import Client

    client = Client()
    if signed_in:
        client.force_login(member)
    return client


def render(client, path):
    """(milliseconds, response), every cache emptied first (not timed)."""
    empty_caches()
    started = time.perf_counter()
    response = client.get(path)
    elapsed = (time.perf_counter() - started) * 1000
    if response.status_code != 200:
        raise SystemExit(f"{path} answered {response.status_code}")
    return elapsed, response


def measure(pages, renders):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    member = signed_in_member()
    rows = []
    for page, (path, signed_in) in page_paths(pages).items():
        client = client_for(signed_in, member)
        render(client, path)  # loads and compiles the templates: once per process
        with CaptureQueriesContext(connection) as queries:
            _elapsed, response = render(client, path)
        query_count = len(queries)
        timings = [render(client, path)[0] for _ in range(renders)]
        rows.append(
            [
                page,
                path,
                f"{statistics.median(timings):.1f}",
                f"{percentile(timings, 0.95):.1f}",
                f"{min(timings):.1f}",
                str(query_count),
                f"{len(response.content) / 1024:.0f}",
            ]
        )
        print(f"  {page:<18} median {rows[-1][2]:>7} ms  p95 {rows[-1][3]:>7} ms", flush=True)
    return rows


def profile(page, renders, output):
    from pyinstrument import Profiler

    member = signed_in_member()
    path, signed_in = page_paths([page])[page]
    client = client_for(signed_in, member)
    render(client, path)
    profiler = Profiler(interval=0.0005)
    for _ in range(renders):
        empty_caches()  # outside the profile: only the render counts
        profiler.start()
        client.get(path)
        profiler.stop()
    report = profiler.output_text(unicode=True, color=False, show_all=False)
    Path(output).parent.mkdir(parents=True, exist_ok=True)
    Path(output).write_text(
        f"pyinstrument {renders} uncached renders of {path} "
        f"({'signed in' if signed_in else 'anonymous'}): python -m bench.uncached "
        f"--profile {page} --renders {renders}\n\n{report}"
    )
    print(f"Profile written to {output}.")


def markdown_lines(rows, renders, vendor):
    lines = [
        f"#### Uncached server time ({vendor}, {renders} renders each, every cache emptied "
        "before each, in process)",
        "",
        markdown_table(HEADINGS, rows, left=2),
    ]
    return [*lines, ""]


def main(argv=None):
    args = parse_args(argv)
    setup()
    from django.db import connection

    if args.profile:
        profile(args.profile, args.renders, args.profile_output)
        return 0
    print(f"Uncached server time, {args.renders} renders of each page, caches emptied before each:")
    rows = measure(args.pages, args.renders)
    print()
    print(text_table(HEADINGS, rows, left=2))
    if args.markdown:
        Path(args.markdown).write_text(
            "\n".join(markdown_lines(rows, args.renders, connection.vendor))
        )
    return 0


def run_for_bench(env, renders):
    """From the bench (--only uncached), once gunicorn has stopped: in a process of its own with the
    run's environment. Returns (text for the terminal, Markdown lines for the results)."""
    with tempfile.TemporaryDirectory(prefix="stepup-render-") as folder:
        markdown = Path(folder) / "render.md"
        finished = subprocess.run(
            [
                sys.executable,
                "-m",
                "bench.uncached",
                f"--renders={renders}",
                f"--markdown={markdown}",
            ],
            cwd=PROJECT_ROOT,
            env=env,
            capture_output=True,
            text=True,
        )
        if finished.returncode != 0:
            raise SystemExit(f"bench.uncached failed:\n{finished.stdout}\n{finished.stderr}")
        table = finished.stdout.split("\n\n", 1)[-1]
        return "\nUncached server time (in process, every cache emptied before each render):\n" + (
            table
        ), markdown.read_text().splitlines()


if __name__ == "__main__":
    sys.exit(main())
