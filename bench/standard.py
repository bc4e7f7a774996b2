"""Each page alone under wrk (the "Each page alone" table of `make bench`): /healthz first and
last, the anonymous pages, All In signed in, and the write run with its aggregates check."""

import shutil
import tempfile

from bench.load import (
    SEARCH_TERM,
    SORTS,
    Endpoint,
    deep_page_url,
    director_path,
    measure,
    preflight,
)
from bench.recount import check_aggregates
from bench.report import WRK_HEADINGS, wrk_cells
from bench.server import RSS_LIMIT_MB, Gunicorn, WorkerMemory, free_port, over_rss_limit
from bench.sessions import SignedInRun

# The pages --only picks from for this table (/healthz, the baseline, is always measured).
STANDARD_GROUPS = ("home", "all-in", "person", "search", "signed-in", "write")
HEADINGS = ["endpoint", *WRK_HEADINGS, "RSS MB", "conns/worker"]


def read_endpoints(args, title, chosen):
    """The anonymous pages, and a note when the deep page had to be a shallower one."""
    endpoints = [Endpoint("/healthz", "/healthz")]  # the baseline, always measured
    note = ""
    if "home" in chosen:
        endpoints.append(Endpoint("home /", "/"))
    if "all-in" in chosen:
        for sort in SORTS:
            first_page = f"{title.get_absolute_url()}?sort={sort}"
            endpoints.append(Endpoint(f"All In ?sort={sort} page 1", first_page))
        for sort in SORTS:
            page, path = deep_page_url(title, sort, args.deep_page)
            if page != args.deep_page:
                note = f"the deep page is {page}: All In has only {page} pages of reviews"
            endpoints.append(Endpoint(f"All In ?sort={sort} page {page}", path))
    if "person" in chosen:
        endpoints.append(Endpoint("person (All In's director)", director_path(title)))
    if "search" in chosen:
        endpoints.append(Endpoint(f"search ?q={SEARCH_TERM}", f"/search/?q={SEARCH_TERM}"))
    return endpoints, note


def run_load(server, memory, endpoints, signed_in, args):
    """Every endpoint measured in turn, then /healthz again; failures found on the way."""
    from django.db import connections

    failures = []
    for endpoint in endpoints:
        if endpoint.signed_in:
            member = signed_in.sample_member
            cookie = f"{signed_in.cookie_name}={signed_in.session_keys[member.pk]}"
            preflight(server, endpoint, member.username, cookie)
        elif not endpoint.writes:
            preflight(server, endpoint)
    measurements = []
    for endpoint in endpoints:
        measurements.append(measure(server, memory, endpoint, args))
    measurements.append(measure(server, memory, Endpoint("/healthz again", "/healthz"), args))
    for measured in measurements:
        distinct = measured.endpoint.distinct_requests
        if distinct and measured.result["requests"] > distinct:
            failures.append(
                f"{measured.endpoint.name}: {measured.result['requests']} requests for "
                f"{distinct} members, so some were not first visits: raise --first-visits"
            )
        if measured.endpoint.writes:
            # Counted after the last measurement, when the posts still in flight as wrk
            # stopped have landed. wrk counts only the answers it waited for, so the edits
            # (its posts minus the creates) are a lower bound.
            posts = measured.result["requests"]
            created = signed_in.reviews_created().count()
            connections.close_all()
            measured.note = f"{created} created, {posts - created} edited"
            if created <= 0 or posts - created <= 0:
                failures.append(f"the write run must both create and edit: {measured.note}")
    return measurements, failures


def table_rows(measurements):
    baseline = measurements[0].result["rps"] if measurements else 0
    rows = []
    for measured in measurements:
        result = measured.result
        ratio = result["rps"] / baseline if baseline else 0
        rows.append(
            [
                measured.endpoint.name + (f" ({measured.note})" if measured.note else ""),
                *wrk_cells(result, f"{ratio:.2f}"),
                f"{measured.peak_rss_mb:.0f}",
                measured.connection_split,
            ]
        )
    return rows


def run_standard(args, env, title, chosen, gunicorn_settings):
    """Each chosen page alone under wrk: (measurements, notes, server, failures)."""
    from django.conf import settings
    from django.db import connections

    endpoints, deep_note = read_endpoints(args, title, chosen)
    signed_in = SignedInRun(settings.SESSION_COOKIE_NAME, tempfile.mkdtemp(prefix="stepup-bench-"))
    server = Gunicorn(env, free_port())
    memory = None
    measurements = []
    failures = []
    try:
        if "signed-in" in chosen:
            endpoints.append(
                signed_in.page_endpoint(
                    title, args.signed_in_users, warmup_seconds=args.signed_in_warmup
                )
            )
            if args.first_visits:
                endpoints.append(
                    signed_in.first_visits_endpoint(
                        title, args.first_visits, after=args.signed_in_users
                    )
                )
        if "write" in chosen:
            endpoints.append(signed_in.write_endpoint())
        connections.close_all()
        server.start()
        memory = WorkerMemory(server.process.pid, server.port)
        memory.start()
        print(
            f"gunicorn {gunicorn_settings['worker_class']}, {gunicorn_settings['workers']} "
            f"workers x {gunicorn_settings['threads']} threads at {server.base_url}; "
            f"{args.duration} s per endpoint:",
            flush=True,
        )
        measurements, failures = run_load(server, memory, endpoints, signed_in, args)
    finally:
        if memory is not None:
            memory.stop()
        server.stop()
        if signed_in.write_pairs:
            failures += check_aggregates()
        signed_in.clean_up()
        shutil.rmtree(signed_in.folder, ignore_errors=True)

    failures += [
        f"{measured.endpoint.name}: {measured.result['errors']} errors"
        for measured in measurements
        if measured.result["errors"]
    ]
    peaks = memory.peak_by_worker
    failures += over_rss_limit(peaks)
    worker_peaks = ", ".join(
        f"{peak:.0f} ({memory.anon_peak_by_worker.get(pid, 0):.0f} heap)"
        for pid, peak in sorted(peaks.items())
    )
    notes = [
        f"Peak RSS per gunicorn worker over the whole run, MB: {worker_peaks} "
        f"(limit {RSS_LIMIT_MB} MB on the RSS; heap: RssAnon, without mapped files)."
    ]
    if deep_note:
        notes.append(f"Note: {deep_note}.")
    if signed_in.write_pairs:
        matched = not any(failure.startswith("aggregates") for failure in failures)
        notes.append(
            "Write run: every title's stored rating aggregates "
            + ("match a recount of its reviews." if matched else "DO NOT match a recount.")
        )
    return measurements, notes, server, failures
