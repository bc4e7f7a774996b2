"""The results: tables for the terminal and in Markdown, the machine's description, the
results files (bench-results-<sqlite|postgresql>.md, bench-results-soak-<...>.md), and the
run's exit status with what failed."""

import os
import platform
import shlex
import sys
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from bench.server import CALLER_ENVIRONMENT, GUNICORN_LOG, PROJECT_ROOT


def redacted(database_url):
    parts = urlsplit(database_url)
    if parts.password:
        netloc = f"{parts.username}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
        return urlunsplit(parts._replace(netloc=netloc))
    return database_url


def machine_description(env, gunicorn_settings, args, load_before):
    from django.db import connection

    cpu_model = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu_model = line.split(":", 1)[1].strip()
            break
    memory_kb = next(
        int(line.split()[1])
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal:")
    )
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SHOW server_version")
            database = f"PostgreSQL {cursor.fetchone()[0]}"
        else:
            cursor.execute("SELECT sqlite_version()")
            database = f"SQLite {cursor.fetchone()[0]} (WAL)"
    database += f", {redacted(env['DATABASE_URL'])}"
    cache = "local memory, per worker"
    if env.get("REDIS_URL"):
        import redis

        version = redis.Redis.from_url(env["REDIS_URL"]).info()["redis_version"]
        cache = f"Redis {version}, {env['REDIS_URL']}"
    workers = gunicorn_settings["workers"]
    threads = gunicorn_settings["threads"]
    shown_env = " ".join(
        f"{name}={shlex.quote(redacted(env[name]))}"
        for name in ("DATABASE_URL", "REDIS_URL")
        if CALLER_ENVIRONMENT.get(name)
    )
    command = "python -m bench " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    return [
        ("CPU", f"{len(os.sched_getaffinity(0))} cores (nproc), {cpu_model}"),
        ("Load before the run", f"{load_before:.2f} (1-minute load average)"),
        ("RAM", f"{memory_kb / 1024 / 1024:.1f} GiB"),
        ("OS", f"{platform.platform()}, Python {platform.python_version()}"),
        ("Database", database),
        ("Cache", cache),
        (
            "gunicorn",
            f"{gunicorn_settings['worker_class']}, {workers} workers x {threads} threads, "
            f"stepup_site/gunicorn.conf.py",
        ),
        (
            "Load",
            f"wrk -t{args.wrk_threads} -c{args.connections} -d{args.duration}s, "
            + (
                "one run of mixed requests, no warm-up"
                if args.soak
                else f"{args.warmup} s warm-up per endpoint"
            )
            + ", on the same machine",
        ),
        ("Command", f"`{(shown_env + ' ') if shown_env else ''}{command}`"),
    ]


# The columns of a wrk run, in every table: the last is the ratio to /healthz's req/s.
WRK_HEADINGS = ["req/s", "p50 ms", "p95 ms", "p99 ms", "errors", "x /healthz"]


def wrk_cells(result, ratio):
    """A wrk result's WRK_HEADINGS cells, `ratio` the text of the last."""
    return [
        f"{result['rps']:.1f}",
        f"{result['p50_ms']:.1f}",
        f"{result['p95_ms']:.1f}",
        f"{result['p99_ms']:.1f}",
        str(result["errors"]),
        ratio,
    ]


def text_table(headings, rows, left=1):
    """Columns as wide as their widest cell: the first `left` (names) to the left, the rest
    (numbers) to the right."""
    widths = [max(len(row[i]) for row in [headings, *rows]) for i in range(len(headings))]

    def line(cells):
        return "  ".join(
            cell.ljust(width) if index < left else cell.rjust(width)
            for index, (cell, width) in enumerate(zip(cells, widths, strict=True))
        )

    return "\n".join([line(headings), line(["-" * w for w in widths]), *map(line, rows)])


def markdown_table(headings, rows, left=1):
    """The same table in Markdown, the first `left` columns aligned left, the rest right."""
    align = ["---" if index < left else "---:" for index in range(len(headings))]
    lines = ["| " + " | ".join(headings) + " |", "|" + "|".join(align) + "|"]
    lines += [
        "| " + " | ".join(str(cell).replace("|", "\\|") for cell in row) + " |" for row in rows
    ]
    return "\n".join(lines)


def write_results(name, heading, description, body):
    """bench-results-<name>.md: the heading with the time, the machine's description, then
    the `body` lines."""
    results_file = PROJECT_ROOT / f"bench-results-{name}.md"
    results_file.write_text(
        "\n".join(
            [
                f"### {heading}, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
                "",
                "| | |",
                "|---|---|",
                *(f"| {label} | {value} |" for label, value in description),
                "",
                *body,
            ]
        )
    )
    print(f"Written to {results_file.name}.")


def exit_status(failures, server=None):
    """0 when the run found nothing wrong; else 1, after the failures and the end of
    gunicorn's log."""
    if not failures:
        return 0
    print("\nFAILED:\n" + "\n".join(f"  - {failure}" for failure in failures))
    if server is not None:
        print(f"\nLast lines of {GUNICORN_LOG.name}:\n{server.log_tail()}")
    return 1
