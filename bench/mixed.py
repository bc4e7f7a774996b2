"""The mixed-load section of `make bench`: pages read while members write.

For each write rate (--write-rates, default 0,1,5,20 a second) a writer process posts
through reviews.services, open loop: write n is due at start + n / rate by the clock,
whatever the writes before it took. A write that starts more than LATE_SECONDS after its
time is counted late (none is skipped), so a writer that cannot keep up shows in the table
instead of quietly lowering the rate. The writes are a mix (MIX: helpful votes, new
reviews, edits, comments) over every title, All In the hottest (ALL_IN_SHARE of them).

While each writer runs, wrk measures /healthz (the baseline of that rate), the anonymous
All In page, All In signed in (members in turn, and first visits), the home page and a
person page. The table: req/s, p50/p95/p99, read errors, the ratio to that rate's
/healthz, and the writes a second achieved (and how many started late) during the row.

Afterwards the writer takes back what it did through the same services (votes toggled
back, comments and its reviews deleted, the data's reviews it edited put back as they
were), and the runner checks every title's aggregates. New reviews come from members who
have not reviewed the title; where there is none (All In at the default size, which has a
review by every member) the write is an edit instead.

The writer is also this module's command line (`python -m bench.mixed writer`),
which the bench starts: one line of JSON per command read on stdin (go, mark, stop).
"""

import argparse
import json
import math
import random
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

from bench.load import Endpoint, all_in_title, director_path, preflight, run_wrk
from bench.recount import check_aggregates
from bench.report import WRK_HEADINGS, markdown_table, text_table, wrk_cells
from bench.server import PROJECT_ROOT, Gunicorn, WorkerMemory, free_port, over_rss_limit
from bench.sessions import POSTED_HEADLINE, SignedInRun, bench_members
from bench.soak import SOAK_COMMENT_TEXT

# A write starting this long after its time is counted late: a quarter of a second is
# longer than any write takes here, so late means the writer fell behind the clock.
LATE_SECONDS = 0.25
# What members do most: mark reviews helpful; then post, edit and comment; and rate a
# title's dance routines (which changes the routine's page, the leaderboard and the home page).
MIX = (("vote", 40), ("review", 20), ("edit", 20), ("comment", 20), ("routine", 10))
# All In takes this share of the writes; the other titles share the rest evenly.
ALL_IN_SHARE = 0.4
# Reviews a title's votes and comments land on: its most helpful (what its first page
# shows, where readers mark) and a spread of others.
TARGETS_TOP = 20
TARGETS_SPREAD = 20
# Members the votes and comments come from (new reviews come from members who have not
# reviewed the title yet, fetched as needed).
VOTERS = 2000
# The writer's comments start so (bench.soak.SOAK_COMMENT_TEXT: a killed run's are found).
COMMENT_SUFFIX = "(mixed load)"
MIXED_HEADINGS = ["writes/s", "page", *WRK_HEADINGS, "writes/s done", "late", "write errors"]


# --- Pacing (no Django: tests/bench/test_mixed.py) --------------------------------------


@dataclass
class WriterStats:
    """What the writer did so far; read by another thread between measurements."""

    done: int = 0
    late: int = 0
    errors: int = 0
    max_late_seconds: float = 0.0
    kinds: Counter = field(default_factory=Counter)
    error_samples: list = field(default_factory=list)

    def snapshot(self, now):
        return {
            "at": now,
            "done": self.done,
            "late": self.late,
            "errors": self.errors,
            "max_late_seconds": round(self.max_late_seconds, 3),
            "kinds": dict(self.kinds),
            "error_samples": list(self.error_samples),
        }


def window(before, after):
    """What the writer did between two snapshots: writes/s, late and failed writes."""
    if before is None or after is None:
        return {"rate": 0.0, "done": 0, "late": 0, "errors": 0}
    seconds = after["at"] - before["at"]
    done = after["done"] - before["done"]
    return {
        "rate": done / seconds if seconds > 0 else 0.0,
        "done": done,
        "late": after["late"] - before["late"],
        "errors": after["errors"] - before["errors"],
    }


def run_open_loop(
    rate, write, stats, *, stop, clock=time.monotonic, sleep=time.sleep, late=LATE_SECONDS
):
    """Call write(n) for n = 0, 1, 2... each at start + n / rate by `clock`, until stop().

    Open loop: the schedule never waits for a write, so a slow write makes the next ones
    late (counted in stats.late when past `late` seconds) and they run back to back until
    the writer has caught up; none is dropped. write(n) returns the kind it did; an
    exception counts as a failed write and the loop goes on.
    """
    start = clock()
    n = 0
    while not stop():
        due = start + n / rate
        now = clock()
        if now < due:
            # In short steps, so stop() is seen within 0.1 s at any rate.
            sleep(min(due - now, 0.1))
            continue
        lateness = now - due
        stats.max_late_seconds = max(stats.max_late_seconds, lateness)
        if lateness > late:
            stats.late += 1
        try:
            kind = write(n)
        except Exception as error:  # counted and shown: the load goes on
            stats.errors += 1
            if len(stats.error_samples) < 5:
                stats.error_samples.append(f"{type(error).__name__}: {error}")
        else:
            stats.done += 1
            stats.kinds[kind] += 1
        n += 1


class WriteMix:
    """Which write comes next, and to which title: MIX by weight, All In the hottest."""

    def __init__(self, title_ids, hot_id, *, mix=MIX, hot_share=ALL_IN_SHARE):
        others = [pk for pk in title_ids if pk != hot_id]
        self.kinds = [kind for kind, _weight in mix]
        self.kind_weights = [weight for _kind, weight in mix]
        self.titles = [hot_id, *others]
        share = (1 - hot_share) / len(others) if others else 0
        self.title_weights = [hot_share if others else 1, *[share] * len(others)]

    def pick(self, rng):
        kind = rng.choices(self.kinds, self.kind_weights)[0]
        return kind, rng.choices(self.titles, self.title_weights)[0]


# --- The report (no Django: tests/bench/test_mixed.py) ----------------------------------


@dataclass
class MixedRow:
    rate: float
    page: str
    result: dict  # wrk's: rps, p50_ms, p95_ms, p99_ms, errors, requests
    writes: dict  # window(): rate, done, late, errors


def mixed_rows(rows):
    """Table cells; each row's ratio is to the /healthz measured at the same write rate."""
    baselines = {row.rate: row.result["rps"] for row in rows if row.page == "/healthz"}
    cells = []
    for row in rows:
        result, writes = row.result, row.writes
        baseline = baselines.get(row.rate, 0)
        cells.append(
            [
                f"{row.rate:g}",
                row.page,
                *wrk_cells(result, f"{result['rps'] / baseline:.2f}" if baseline else "-"),
                f"{writes['rate']:.1f}" if row.rate else "-",
                str(writes["late"]) if row.rate else "-",
                str(writes["errors"]) if row.rate else "-",
            ]
        )
    return cells


def parse_rates(text):
    rates = [float(part) for part in text.split(",") if part.strip()]
    if not rates or any(rate < 0 or math.isinf(rate) for rate in rates):
        raise argparse.ArgumentTypeError(f"write rates are numbers >= 0: {text!r}")
    return rates


# --- The writer process ----------------------------------------------------------------


class Writes:
    """The writes themselves, through reviews.services, and taking them back."""

    def __init__(self, rng):
        from films.models import Title

        self.rng = rng
        self.titles = {
            title.pk: title for title in Title.objects.prefetch_related("routines").order_by("pk")
        }
        all_in = all_in_title()
        self.mix = WriteMix(list(self.titles), all_in.pk)
        self.voters = list(bench_members().order_by("-pk").only("pk", "username")[:VOTERS])
        if len(self.voters) < 2:
            raise SystemExit("The mixed load needs bench members: generate the data first.")
        self.targets = {pk: self._targets(pk) for pk in self.titles}
        self.fresh = {pk: [] for pk in self.titles}  # members with no review of the title
        self.fresh_after = dict.fromkeys(self.titles)  # paging through them, by pk down
        self.exhausted = set()  # titles every member has reviewed
        self.created = {pk: [] for pk in self.titles}  # the writer's reviews, to edit
        self.toggles = Counter()  # (voter pk, review pk): times toggled
        self.originals = {}  # review pk: (review, its fields before the writer's edits)
        self.comment_ids = []
        self.routines = {pk: list(title.routines.all()) for pk, title in self.titles.items()}
        self.routine_ratings = {}  # (routine pk, member pk): the member's rating before, or None

    def _targets(self, title_id):
        from reviews.models import Review

        listed = Review.objects.published().with_text().filter(title_id=title_id)
        top = list(listed.order_by("-helpful_count", "-pk")[:TARGETS_TOP])
        count = listed.count()
        spread = []
        if count:
            offsets = sorted({self.rng.randrange(count) for _ in range(TARGETS_SPREAD)})
            for offset in offsets:
                spread += listed.order_by("pk")[offset : offset + 1]
        return list({review.pk: review for review in top + spread}.values())

    def _fresh_author(self, title_id):
        """A member with no review of the title yet, or None when none is left."""
        if not self.fresh[title_id] and title_id not in self.exhausted:
            members = bench_members().exclude(reviews__title_id=title_id)
            if self.fresh_after[title_id] is not None:
                members = members.filter(pk__lt=self.fresh_after[title_id])
            self.fresh[title_id] = list(members.order_by("-pk").only("pk", "username")[:200])
            if self.fresh[title_id]:
                self.fresh_after[title_id] = self.fresh[title_id][-1].pk
            else:
                # Not asked again: at the default size that query scans a quarter of a
                # million members, and it would run on every write meant as a new review.
                self.exhausted.add(title_id)
        return self.fresh[title_id].pop(0) if self.fresh[title_id] else None

    def _voter(self, review):
        while True:
            voter = self.rng.choice(self.voters)
            if voter.pk != review.author_id:
                return voter

    def write(self, n):
        from reviews import services

        kind, title_id = self.mix.pick(self.rng)
        title = self.titles[title_id]
        rating = self.rng.randint(1, 10)
        if kind == "review":
            author = self._fresh_author(title_id)
            if author is None:
                # Every member has reviewed this title (All In at the default size: it has
                # as many reviews as there are members): they edit theirs instead.
                kind = "edit"
            else:
                review, _created = services.review_submit(
                    title=title,
                    author=author,
                    rating=rating,
                    headline=f"{POSTED_HEADLINE} {COMMENT_SUFFIX} {n}",
                    body="Watched it again tonight. " * self.rng.randint(1, 12),
                )
                self.created[title_id].append(review)
                return kind
        if kind == "edit":
            # A member edits their review: one the writer posted, or one of the data's
            # (the most helpful, on the first page, among them), put back at the end.
            review = self.rng.choice(self.created[title_id] + self.targets[title_id])
            if review.pk not in self.originals and review not in self.created[title_id]:
                self.originals[review.pk] = (review, _fields_of(review))
            services.review_submit(
                title=title,
                author=review.author,
                rating=rating,
                headline=review.headline,
                body=f"Edited ({n}): " + "The final battle holds up. " * self.rng.randint(1, 12),
                contains_spoilers=review.contains_spoilers,
            )
            return kind
        if kind == "routine":
            return self._rate_routine(title_id, rating)
        targets = self.targets[title_id]
        if not targets:
            return "none"
        review = self.rng.choice(targets)
        voter = self._voter(review)
        if kind == "vote":
            services.helpful_vote_toggle(review=review, voter=voter)
            self.toggles[(voter.pk, review.pk)] += 1
            return kind
        comment = services.comment_create(
            review=review,
            author=voter,
            body=f"{SOAK_COMMENT_TEXT} {COMMENT_SUFFIX} {n}: that lift!",
        )
        self.comment_ids.append(comment.pk)
        return kind

    def _rate_routine(self, title_id, rating):
        from reviews import services
        from reviews.models import RoutineRating

        if not self.routines[title_id]:
            return "none"
        routine = self.rng.choice(self.routines[title_id])
        member = self.rng.choice(self.voters)
        key = (routine.pk, member.pk)
        if key not in self.routine_ratings:
            self.routine_ratings[key] = (
                RoutineRating.objects.filter(routine=routine, member=member)
                .values_list("rating", flat=True)
                .first()
            )
        services.routine_rate(routine=routine, member=member, rating=rating)
        return "routine"

    def clean_up(self):
        """Marks toggled an odd number of times toggled back; comments and reviews deleted:
        the stored counts are what they were before."""
        from django.db import transaction

        from reviews import services
        from reviews.models import Comment, Review

        voters = {voter.pk: voter for voter in self.voters}
        marks = 0
        for (voter_id, review_id), times in sorted(self.toggles.items()):
            if times % 2:
                with transaction.atomic():
                    review = Review.objects.filter(pk=review_id).first()
                    if review is not None:
                        services.helpful_vote_toggle(review=review, voter=voters[voter_id])
                        marks += 1
        restored = 0
        for review, fields in self.originals.values():
            services.review_submit(
                title=self.titles[review.title_id], author=review.author, **fields
            )
            restored += 1
        voters_by_pk = {voter.pk: voter for voter in self.voters}
        routines = {r.pk: r for routines in self.routines.values() for r in routines}
        for (routine_id, member_id), before in sorted(self.routine_ratings.items()):
            routine, member = routines[routine_id], voters_by_pk[member_id]
            if before is None:
                services.routine_rating_remove(routine=routine, member=member)
            else:
                services.routine_rate(routine=routine, member=member, rating=before)
        comments = 0
        for comment in Comment.objects.filter(pk__in=self.comment_ids).select_related("review"):
            with transaction.atomic():
                services.comment_delete(comment=comment)
            comments += 1
        reviews = 0
        for created in self.created.values():
            for review in created:
                # by_author=False: whatever its status, as an account's deletion takes it.
                services.review_delete(review=review, by_author=False)
                reviews += 1
        return {
            "routine_ratings_put_back": len(self.routine_ratings),
            "marks_taken_back": marks,
            "comments_deleted": comments,
            "reviews_deleted": reviews,
            "reviews_restored": restored,
        }


def _fields_of(review):
    """What review_submit sets: what to put back after the writer's edits."""
    return {
        "rating": review.rating,
        "headline": review.headline,
        "body": review.body,
        "contains_spoilers": review.contains_spoilers,
    }


def writer_main(argv):
    """The writer process: {"ready"} once prepared; then per stdin line "go" (start the
    clock), "mark" (a snapshot of WriterStats), "stop" (stop, take everything back, final)."""
    parser = argparse.ArgumentParser(prog="python -m bench.mixed writer")
    parser.add_argument("--rate", type=float, required=True, help="writes a second")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    import django

    django.setup()
    from django.db import connections

    writes = Writes(random.Random(args.seed))
    stats = WriterStats()
    stopping = threading.Event()

    def loop():
        try:
            run_open_loop(args.rate, writes.write, stats, stop=stopping.is_set)
        finally:
            connections.close_all()  # this thread's

    thread = threading.Thread(target=loop, daemon=True)

    def answer(message):
        print(json.dumps(message), flush=True)

    answer({"ready": True})
    for line in sys.stdin:
        command = line.strip()
        if command == "go":
            thread.start()
            answer({"started": True})
        elif command == "mark":
            answer(stats.snapshot(time.monotonic()))
        elif command == "stop":
            break
    stopping.set()
    if thread.is_alive():
        thread.join()
    final = stats.snapshot(time.monotonic())
    answer({"final": final, "clean_up": writes.clean_up()})


class WriterProcess:
    """The parent's handle on a writer process (its own session: Ctrl-C reaches only the
    runner, which then stops it so that it takes its writes back)."""

    def __init__(self, env, rate, seed, cwd):
        self.rate = rate
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bench.mixed",
                "writer",
                f"--rate={rate}",
                f"--seed={seed}",
            ],
            cwd=cwd,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        self._read()  # ready

    def _read(self):
        line = self.process.stdout.readline()
        if not line:
            code = self.process.wait(timeout=30)
            raise SystemExit(f"the writer ({self.rate}/s) exited with {code}")
        return json.loads(line)

    def ask(self, command):
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        return self._read()

    def stop(self):
        """Stops the writes and takes them back: the final snapshot and what was undone."""
        if self.process.poll() is not None:
            return None
        try:
            return self.ask("stop")
        finally:
            self.process.stdin.close()
            self.process.wait(timeout=600)


# --- The section -------------------------------------------------------------------------


def measure_with(server, endpoint, args, writer, warmup_seconds=None):
    """wrk on `endpoint` (after its warm-up), and what the writer did meanwhile."""
    url = server.base_url + endpoint.path
    warmup = endpoint.warmup_seconds or warmup_seconds or args.warmup
    if warmup:
        env = endpoint.script_env if endpoint.warmup_env is None else endpoint.warmup_env
        run_wrk(url, warmup, args, env)
    before = writer.ask("mark") if writer else None
    result = run_wrk(url, args.duration, args, endpoint.script_env)
    after = writer.ask("mark") if writer else None
    return result, window(before, after)


def run_section(args, env, title, gunicorn_settings):
    """Measures every page at every write rate. Returns (text, markdown lines, failures)."""
    import shutil
    import tempfile

    from django.conf import settings
    from django.db import connections
    from django.urls import reverse

    rates = args.write_rates
    folder = tempfile.mkdtemp(prefix="stepup-mixed-")
    signed_in = SignedInRun(settings.SESSION_COOKIE_NAME, folder)
    server = Gunicorn(env, free_port())
    memory = None
    writer = None
    rows, failures, clean_ups = [], [], []
    try:
        in_turn = signed_in.page_endpoint(
            title, args.signed_in_users, warmup_seconds=args.signed_in_warmup
        )
        # First visits at each rate by members of their own, past those the per-page run
        # sends once (members signed_in_users onwards): none of them has opened it before.
        skip = args.signed_in_users + args.first_visits
        available = bench_members().count() - skip
        per_rate = max(1, min(args.first_visits, available // len(rates)))
        anonymous = [
            Endpoint("/healthz", "/healthz"),
            Endpoint("All In, anonymous", title.get_absolute_url()),
        ]
        finale = title.routines.order_by("-order", "-pk").first()
        later = [
            Endpoint("home /", "/"),
            Endpoint("person (All In's director)", director_path(title)),
            Endpoint("routine leaderboard /routines/", reverse("films:routine_list")),
            *([Endpoint("routine (All In's finale)", finale.get_absolute_url())] if finale else []),
            Endpoint("crossover timeline /characters/", reverse("films:character_list")),
            # Its charts: every title's average, the box office, the top routines.
            Endpoint("franchise in figures /franchise/", reverse("films:franchise")),
            # All In's page in Spanish: its charts' numbers in the other language's formats.
            Endpoint("All In in Spanish", f"/es{title.get_absolute_url()}"),
        ]
        connections.close_all()
        server.start()
        memory = WorkerMemory(server.process.pid, server.port)
        memory.start()
        for endpoint in anonymous + later:
            preflight(server, endpoint)
        member = signed_in.sample_member
        cookie = f"{signed_in.cookie_name}={signed_in.session_keys[member.pk]}"
        preflight(server, in_turn, member.username, cookie)
        print(
            f"Mixed load: writes/s {', '.join(f'{rate:g}' for rate in rates)}; "
            f"{args.duration} s per page; first visits: {per_rate} members per rate.",
            flush=True,
        )
        for index, rate in enumerate(rates):
            first = signed_in.first_visits_endpoint(title, per_rate, after=skip + index * per_rate)
            first.name = f"All In signed in, first visits ({per_rate} members)"
            in_turn.name = f"All In signed in ({args.signed_in_users} members in turn)"
            connections.close_all()
            writer = WriterProcess(env, rate, index + 1, PROJECT_ROOT) if rate else None
            if writer:
                writer.ask("go")
            for endpoint in [*anonymous, in_turn, first, *later]:
                result, writes = measure_with(server, endpoint, args, writer)
                rows.append(MixedRow(rate, endpoint.name, result, writes))
                print(
                    f"  {rate:>4g} w/s  {endpoint.name:<44} {result['rps']:>8.1f} req/s  "
                    f"p95 {result['p95_ms']:.1f} ms  p99 {result['p99_ms']:.1f} ms  "
                    f"errors {result['errors']}"
                    + (f"  writes {writes['rate']:.1f}/s, late {writes['late']}" if rate else ""),
                    flush=True,
                )
                if endpoint.distinct_requests and result["requests"] > endpoint.distinct_requests:
                    failures.append(
                        f"mixed {rate:g} w/s: {result['requests']} first visits for "
                        f"{endpoint.distinct_requests} members: some were not first visits "
                        "(more --users, or a shorter --duration)"
                    )
            if writer:
                stopped = writer.stop()
                writer = None
                final = stopped["final"]
                clean_ups.append((rate, final, stopped["clean_up"]))
                if final["errors"]:
                    failures.append(
                        f"mixed {rate:g} w/s: {final['errors']} writes failed: "
                        + "; ".join(final["error_samples"])
                    )
    finally:
        if writer is not None:
            writer.stop()
        if memory is not None:
            memory.stop()
        server.stop()
        signed_in.clean_up()
        shutil.rmtree(folder, ignore_errors=True)
    if any(rates):
        failures += check_aggregates()
    failures += [
        f"mixed {row.rate:g} w/s, {row.page}: {row.result['errors']} errors"
        for row in rows
        if row.result["errors"]
    ]
    peaks = memory.peak_by_worker if memory else {}
    failures += [f"mixed: {failure}" for failure in over_rss_limit(peaks)]
    cells = mixed_rows(rows)
    notes = [
        "Writes: " + ", ".join(f"{kind} {weight}%" for kind, weight in MIX) + f" of them; "
        f"{ALL_IN_SHARE:.0%} to All In, the rest spread over the other titles; through "
        "reviews.services in a separate process, open loop (a write more than "
        f"{LATE_SECONDS} s behind its time counts as late). x /healthz: against the /healthz "
        "measured at the same write rate.",
        "Peak RSS per gunicorn worker, MB: "
        + ", ".join(f"{peak:.0f}" for _pid, peak in sorted(peaks.items())),
    ]
    for rate, final, undone in clean_ups:
        notes.append(
            f"{rate:g} w/s: {final['done']} writes ("
            + ", ".join(f"{kind} {count}" for kind, count in sorted(final["kinds"].items()))
            + f"), {final['late']} late (worst {final['max_late_seconds']} s), "
            f"{final['errors']} failed; taken back: {undone['reviews_deleted']} reviews, "
            f"{undone['comments_deleted']} comments, {undone['marks_taken_back']} marks; "
            f"{undone['reviews_restored']} reviews of the data edited and put back."
        )
    text = "\n".join(
        [
            "",
            "Mixed load (reads while members write):",
            text_table(MIXED_HEADINGS, cells, left=2),
            *notes,
        ]
    )
    markdown = ["#### Mixed load: reads while members write", ""]
    markdown += [markdown_table(MIXED_HEADINGS, cells, left=2), "", *notes, ""]
    return text, markdown, failures


if __name__ == "__main__":
    if sys.argv[1:2] != ["writer"]:
        sys.exit(
            "The mixed load runs from `make bench` (python -m bench --only mixed "
            "--write-rates 0,1,5,20); this module's command line is its writer process."
        )
    writer_main(sys.argv[2:])
