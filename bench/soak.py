"""`make soak` (python -m bench --soak): one wrk run of mixed reads and writes (SOAK_MIX, played
by bench/report.lua in mix mode) from members each well inside the rate limits; then every
stored count against a recount, and what the run posted taken away through reviews.services."""

import math
import os
import shutil
import tempfile
from dataclasses import dataclass, field

from bench.load import (
    SEARCH_TERM,
    SORTS,
    Endpoint,
    deep_page_url,
    director_path,
    preflight,
    run_wrk,
    write_lines,
)
from bench.recount import check_aggregates, check_review_counters, chunked, stored_counts
from bench.report import exit_status, machine_description, markdown_table, write_results
from bench.server import (
    RSS_LIMIT_MB,
    Gunicorn,
    WorkerMemory,
    free_port,
    over_rss_limit,
)
from bench.sessions import (
    POSTED_HEADLINE,
    SignedInRun,
    bench_members,
    csrf_secret,
    rate_limit_room,
)

# Every comment the soak posts starts so (the wrk script writes it).
SOAK_COMMENT_TEXT = "Bench soak comment"

# A thread's n-th request is of the n-th kind here, round and round: 14 reads to 6 writes.
# The reads are the pages visitors land on; the writes, what members do most.
SOAK_MIX = (
    "home", "all-in", "signed-in", "review", "detail",
    "all-in", "vote", "deep", "signed-in", "comment",
    "home", "all-in", "search", "review", "person",
    "signed-in", "vote", "detail", "feed", "comment",
)  # fmt: skip
SOAK_WRITE_KINDS = ("review", "vote", "comment")

# The write lines are sized for this many requests a second, several times what the mix
# reaches here (each write makes every cached page stale), so they do not run out; a run
# whose lines did run out fails and says so.
SOAK_CEILING_RPS = 1000

# What one member sends at most, far inside settings.RATE_LIMITS (review 30/h, comment 60/h,
# vote 300/h): the soak shows the site under load from many members, not the limiter.
SOAK_EDITS_PER_REVIEW = 3  # 1 create + 3 edits: 4 review posts
SOAK_MARKS_PER_VOTER = 10  # 10 reviews, each marked and later unmarked: 20 votes
SOAK_COMMENTS_PER_MEMBER = 5
SOAK_POSTS_PER_MEMBER = {
    "review": 1 + SOAK_EDITS_PER_REVIEW,
    "vote": 2 * SOAK_MARKS_PER_VOTER,
    "comment": SOAK_COMMENTS_PER_MEMBER,
}

# A thread takes a mark back this many of its votes after making it.
SOAK_VOTE_LAG = 8

# Reviews members read, mark and comment on: All In's most helpful page, then a spread.
SOAK_SPREAD_TARGETS = 400
SOAK_DETAIL_PAGES = 40


def soak_needs(duration):
    """kind: (members, lines) the writes need at SOAK_CEILING_RPS for `duration` seconds."""
    needs = {}
    for kind in SOAK_WRITE_KINDS:
        posts = math.ceil(SOAK_CEILING_RPS * duration * SOAK_MIX.count(kind) / len(SOAK_MIX))
        if kind == "review":
            lines = math.ceil(posts / 2)  # creates alternate with edits
            needs[kind] = (lines, lines)
        elif kind == "vote":
            lines = math.ceil(posts / 2)  # each line is marked, then unmarked
            needs[kind] = (math.ceil(lines / SOAK_MARKS_PER_VOTER), lines)
        else:
            needs[kind] = (math.ceil(posts / SOAK_COMMENTS_PER_MEMBER), posts)
    return needs


def soak_writers(needs, readers):
    """kind: [(member, title)] for each write kind (title: one the member has not reviewed,
    for "review"; None otherwise). Members in pk order, never in two kinds nor among the
    readers, each with room left under its rate limit for what the soak may send (an
    earlier run within the hour used some); also {reason: members skipped}."""
    from films.models import Title
    from reviews.models import Review

    titles = list(Title.objects.order_by("pk"))
    chosen = {kind: [] for kind in needs}
    skipped = {"no room under the rate limit": 0, "has reviewed every title": 0}
    after = 0
    for kind, wanted in needs.items():
        while len(chosen[kind]) < wanted:
            chunk = list(
                bench_members().filter(pk__gt=after).exclude(pk__in=readers).order_by("pk")[:2000]
            )
            if not chunk:
                raise SystemExit(
                    f"Not enough bench members for the soak's {kind} writes: found "
                    f"{len(chosen[kind])} of {wanted} (generate more --users, or a shorter "
                    f"--duration)."
                )
            room, _limit = rate_limit_room([member.pk for member in chunk], kind)
            reviewed = {}
            if kind == "review":
                ids = [member.pk for member in chunk]
                for author, title in Review.objects.filter(author__in=ids).values_list(
                    "author_id", "title_id"
                ):
                    reviewed.setdefault(author, set()).add(title)
            for member in chunk:
                if len(chosen[kind]) == wanted:
                    break
                after = member.pk
                if room[member.pk] < SOAK_POSTS_PER_MEMBER[kind]:
                    skipped["no room under the rate limit"] += 1
                    continue
                title = None
                if kind == "review":
                    # Titles in turn: the creates land on every title, not all on one row.
                    start = len(chosen[kind])
                    rotation = (titles[(start + step) % len(titles)] for step in range(len(titles)))
                    title = next(
                        (t for t in rotation if t.pk not in reviewed.get(member.pk, ())), None
                    )
                    if title is None:
                        skipped["has reviewed every title"] += 1
                        continue
                chosen[kind].append((member, title))
    return chosen, skipped


def soak_targets(title, count):
    """[(review id, author id)] of published reviews with text: All In's most helpful page
    (where readers land and mark), then about `count` spread over every title's reviews."""
    from django.db.models import Max, Min

    from reviews.models import Review

    published = Review.objects.published().with_text()
    targets = list(
        published.filter(title=title)
        .order_by("-helpful_count", "-created_at", "-pk")
        .values_list("pk", "author_id")[:20]
    )
    seen = {pk for pk, _author in targets}
    bounds = Review.objects.aggregate(low=Min("pk"), high=Max("pk"))
    step = max(1, (bounds["high"] - bounds["low"]) // count)
    for start in range(bounds["low"], bounds["high"] + 1, step):
        found = published.filter(pk__gte=start).order_by("pk").values_list("pk", "author_id")
        found = found.first()
        if found is not None and found[0] not in seen:
            targets.append(found)
            seen.add(found[0])
    return targets


def existing_marks(voter_ids, review_ids):
    """{(voter id, review id)} of the helpful marks these voters have on these reviews."""
    from reviews.models import HelpfulVote

    marks = set()
    for chunk in chunked(sorted(voter_ids), 500):
        marks.update(
            HelpfulVote.objects.filter(voter_id__in=chunk, review_id__in=review_ids).values_list(
                "voter_id", "review_id"
            )
        )
    return marks


def soak_lines(members, targets, per_member, excluded=frozenset()):
    """[(member, review id)]: each member on `per_member` different reviews not their own
    (nor in `excluded`), ordered round by round so any stretch of the run spreads over every
    member."""
    rounds = [[] for _ in range(per_member)]
    for index, member in enumerate(members):
        picked = 0
        for step in range(len(targets)):
            review_id, author_id = targets[(index * per_member + step) % len(targets)]
            if author_id == member.pk or (member.pk, review_id) in excluded:
                continue
            rounds[picked].append((member, review_id))
            picked += 1
            if picked == per_member:
                break
    return [line for row in rounds for line in row]


@dataclass
class SoakWrites:
    """The helpful marks and comments the soak may make, and taking them away again."""

    vote_lines: list = field(default_factory=list)  # (member, review id)
    comment_lines: list = field(default_factory=list)
    last_comment_before: int = 0

    def comments_created(self):
        from reviews.models import Comment

        return Comment.objects.filter(
            pk__gt=self.last_comment_before, body__startswith=SOAK_COMMENT_TEXT
        )

    def marks_standing(self):
        """The lines whose mark is on now: all the soak's, as no line starts out marked."""
        lines = {(member.pk, review_id) for member, review_id in self.vote_lines}
        reviews = sorted({review_id for _member, review_id in lines})
        return existing_marks({voter for voter, _review in lines}, reviews) & lines

    def clean_up(self):
        """Through reviews.services, as members take marks back and delete comments: the
        stored counts come back to what they were."""
        from django.db import transaction

        from reviews import services
        from reviews.models import Review

        voters = {member.pk: member for member, _review in self.vote_lines}
        marks = sorted(self.marks_standing())
        # Each in a transaction of its own whether or not the service opens one: its row
        # locks (select_for_update) need one on PostgreSQL.
        for voter_id, review_id in marks:
            with transaction.atomic():
                services.helpful_vote_toggle(
                    review=Review.objects.get(pk=review_id), voter=voters[voter_id]
                )
        comments = 0
        for comment in self.comments_created().select_related("review"):
            with transaction.atomic():
                services.comment_delete(comment=comment)
            comments += 1
        print(
            f"Took back the {len(marks)} helpful marks still standing and deleted the "
            f"{comments} comments the soak posted.",
            flush=True,
        )


def soak_paths(args, title, targets):
    """[(kind, path)] for the reading kinds; the first is where an exhausted write goes."""
    from django.urls import reverse

    paths = [("home", "/")]
    paths += [("all-in", f"{title.get_absolute_url()}?sort={sort}") for sort in SORTS]
    deep_pages = set()
    for sort in SORTS:
        page, path = deep_page_url(title, sort, args.deep_page)
        deep_pages.add(page)
        paths.append(("deep", path))
    paths.append(("person", director_path(title)))
    paths.append(("search", f"/search/?q={SEARCH_TERM}"))
    paths += [
        ("detail", reverse("reviews:detail", kwargs={"pk": pk}))
        for pk, _author in targets[:SOAK_DETAIL_PAGES]
    ]
    paths.append(("feed", reverse("reviews:rss")))
    paths.append(("signed-in", title.get_absolute_url()))
    return paths, sorted(deep_pages)


def soak_labels(deep_pages, readers, writers, detail_pages):
    pages = ", ".join(str(page) for page in deep_pages)
    return {
        "home": "home /",
        "all-in": "All In page 1, the 4 sorts in turn",
        "deep": f"All In page {pages}, the 4 sorts in turn",
        "person": "person (All In's director)",
        "search": f"search ?q={SEARCH_TERM}",
        "detail": f"a review's page ({detail_pages} in turn)",
        "feed": "RSS feed of the latest reviews",
        "signed-in": f"All In signed in ({readers} members in turn)",
        "review": f"post a review, then edit it ({len(writers['review'])} members, one title "
        f"each, at most {SOAK_POSTS_PER_MEMBER['review']} posts)",
        "vote": f"mark a review helpful or take it back, JSON ({len(writers['vote'])} members, "
        f"at most {SOAK_POSTS_PER_MEMBER['vote']} votes)",
        "comment": f"comment on a review ({len(writers['comment'])} members, at most "
        f"{SOAK_POSTS_PER_MEMBER['comment']} comments)",
    }


def soak_report(result, labels, facts):
    """(text for the terminal, Markdown for the results file)."""
    sent = result["kinds"]
    total_sent = sum(sent.values()) or 1
    errors = (
        f"{result['errors']} (connect {result['connect']}, read {result['read']}, write "
        f"{result['write']}, timeout {result['timeout']}, HTTP 4xx/5xx {result['status']}, "
        f"redirected to sign-in {result['login_redirects']})"
    )
    summary = [
        ("requests answered", f"{result['requests']:,} in {result['duration_s']:.1f} s"),
        ("req/s", f"{result['rps']:.1f}"),
        (
            "latency p50 / p95 / p99 / max",
            f"{result['p50_ms']:.1f} / {result['p95_ms']:.1f} / {result['p99_ms']:.1f} / "
            f"{result['max_ms']:.1f} ms",
        ),
        ("errors", errors),
        *facts,
    ]
    kinds = [
        [
            kind,
            labels[kind],
            f"{sent.get(kind, 0):,}",
            f"{100 * sent.get(kind, 0) / total_sent:.1f}%",
        ]
        for kind in dict.fromkeys(SOAK_MIX)
    ]
    reads = sum(sent.get(kind, 0) for kind in sent if kind not in SOAK_WRITE_KINDS)
    writes = total_sent - reads
    statuses = [[status, f"{count:,}"] for status, count in sorted(result["statuses"].items())]
    outcomes = [
        [outcome, f"{count:,}"]
        for outcome, count in sorted(result["outcomes"].items(), key=lambda item: -item[1])
    ]

    share = 100 * writes / total_sent
    mix = f"Sent, by kind: {reads:,} reads and {writes:,} writes ({share:.0f}% writes)."
    md = [
        markdown_table(["", ""], summary, left=2),
        "",
        mix,
        "",
        markdown_table(["kind", "requests", "sent", "share"], kinds, left=2),
        "",
        "Answers by status, and by what they say they are (wrk does not tell which request an "
        "answer is for: the wrk script reads it from the answer):",
        "",
        markdown_table(["status", "answers"], statuses),
        "",
        markdown_table(["answer", "count"], outcomes),
    ]
    text = [f"  {label:<32} {value}" for label, value in summary]
    text += ["", f"  {mix}"]
    text += [
        f"    {kind:<10} {count:>8}  {share:>6}  {label}" for kind, label, count, share in kinds
    ]
    text += ["", "  Statuses: " + ", ".join(f"{status} {count}" for status, count in statuses)]
    text += ["  Answers:  " + ", ".join(f"{outcome} {count}" for outcome, count in outcomes)]
    return "\n".join(text), md


def run_soak(args, env, title, gunicorn_settings, load_before):
    """One wrk run of SOAK_MIX; then the recounts, and what it posted taken away."""
    from django.conf import settings
    from django.db import connection, connections
    from django.db.models import Max

    from reviews.models import Comment, Review

    vendor = connection.vendor
    folder = tempfile.mkdtemp(prefix="stepup-soak-")
    signed_in = SignedInRun(settings.SESSION_COOKIE_NAME, folder)
    soak = SoakWrites()
    server = Gunicorn(env, free_port())
    memory = None
    result = None
    failures = []
    facts = []
    try:
        reading = signed_in.page_endpoint(title, args.signed_in_users)
        readers = set(signed_in.session_keys)
        needs = soak_needs(args.duration)
        writers, skipped = soak_writers({k: members for k, (members, _) in needs.items()}, readers)
        skipped_text = ", ".join(f"{n} {why}" for why, n in skipped.items() if n) or "none"
        print(
            "Soak writers: "
            + ", ".join(f"{len(members)} for {kind}" for kind, members in writers.items())
            + f" (members skipped: {skipped_text}).",
            flush=True,
        )
        targets = soak_targets(title, SOAK_SPREAD_TARGETS)
        target_ids = [pk for pk, _author in targets]
        voters = [member for member, _title in writers["vote"]]
        commenters = [member for member, _title in writers["comment"]]
        soak.vote_lines = soak_lines(
            voters,
            targets,
            SOAK_MARKS_PER_VOTER,
            existing_marks([member.pk for member in voters], target_ids),
        )
        soak.comment_lines = soak_lines(commenters, targets, SOAK_COMMENTS_PER_MEMBER)
        signed_in.write_pairs = writers["review"]
        signed_in.sessions_for(
            [member for member, _title in signed_in.write_pairs] + voters + commenters
        )
        keys = signed_in.session_keys
        paths, deep_pages = soak_paths(args, title, targets)
        secret = csrf_secret()
        script_env = {
            "BENCH_MIX_FILE": write_lines(folder, "mix.txt", SOAK_MIX),
            "BENCH_PATHS_FILE": write_lines(folder, "paths.txt", [f"{k} {p}" for k, p in paths]),
            "BENCH_SESSIONS_FILE": reading.script_env["BENCH_SESSIONS_FILE"],
            "BENCH_COOKIE_NAME": signed_in.cookie_name,
            "BENCH_CSRF_SECRET": secret,
            "BENCH_HEADLINE": POSTED_HEADLINE,
            "BENCH_WRITES_FILE": write_lines(
                folder, "writes.txt", [f"{keys[m.pk]} {t.slug}" for m, t in signed_in.write_pairs]
            ),
            "BENCH_EDITS_PER_REVIEW": str(SOAK_EDITS_PER_REVIEW),
            "BENCH_VOTES_FILE": write_lines(
                folder, "votes.txt", [f"{keys[m.pk]} {review}" for m, review in soak.vote_lines]
            ),
            "BENCH_VOTE_LAG": str(SOAK_VOTE_LAG),
            "BENCH_COMMENTS_FILE": write_lines(
                folder, "comments.txt", [f"{keys[m.pk]} {r}" for m, r in soak.comment_lines]
            ),
            "BENCH_COMMENT_TEXT": SOAK_COMMENT_TEXT,
        }
        labels = soak_labels(
            deep_pages, len(readers), writers, min(len(targets), SOAK_DETAIL_PAGES)
        )
        before = stored_counts(target_ids)
        signed_in.last_review_before = Review.objects.aggregate(last=Max("pk"))["last"] or 0
        soak.last_comment_before = Comment.objects.aggregate(last=Max("pk"))["last"] or 0
        connections.close_all()

        server.start()
        memory = WorkerMemory(server.process.pid, server.port)
        memory.start()
        # Every page once, and each kind of member once, before the load: a page that fails
        # or a session that does not sign in would otherwise pass for fast and fine.
        for kind, path in paths:
            if kind != "signed-in":
                preflight(server, Endpoint(kind, path))
        reviewer, reviewed_title = signed_in.write_pairs[0]
        for kind, member, path in [
            ("signed-in", signed_in.sample_member, title.get_absolute_url()),
            ("review", reviewer, reviewed_title.get_absolute_url()),
            ("vote", voters[0], title.get_absolute_url()),
            ("comment", commenters[0], title.get_absolute_url()),
        ]:
            cookie = f"{signed_in.cookie_name}={keys[member.pk]}"
            preflight(server, Endpoint(kind, path), member.username, cookie)
        print(
            f"gunicorn {gunicorn_settings['worker_class']}, {gunicorn_settings['workers']} "
            f"workers x {gunicorn_settings['threads']} threads at {server.base_url}; soak: "
            f"{args.duration} s, {args.connections} connections, "
            f"{len(SOAK_MIX) - sum(SOAK_MIX.count(k) for k in SOAK_WRITE_KINDS)} reads to "
            f"{sum(SOAK_MIX.count(k) for k in SOAK_WRITE_KINDS)} writes in {len(SOAK_MIX)}...",
            flush=True,
        )
        result = run_wrk(server.base_url + "/", args.duration, args, script_env)
        memory.sample()
    finally:
        if memory is not None:
            memory.stop()
        server.stop()
        load_after = os.getloadavg()[0]
        try:
            if result is not None:
                # Counted once gunicorn has stopped: the posts in flight as wrk stopped have
                # landed, so the database holds everything the run did.
                created = signed_in.reviews_created().count()
                comments = soak.comments_created().count()
                standing = len(soak.marks_standing())
                failures += check_aggregates()
                failures += check_review_counters()
        finally:
            # Whatever happened above: a later run must find the data as this one did.
            soak.clean_up()
            signed_in.clean_up()
            shutil.rmtree(folder, ignore_errors=True)
    connections.close_all()

    if result["errors"]:
        failures.append(f"{result['errors']} requests failed")
    for kind, count in result["exhausted"].items():
        failures.append(
            f"the {kind} lines ran out {count} times: raise SOAK_CEILING_RPS ({SOAK_CEILING_RPS})"
        )
    outcomes = result["outcomes"]
    saved = outcomes.get("review saved", 0)
    for name, count in [
        ("reviews created", created),
        ("reviews edited", saved - created),
        ("comments posted", comments),
        ("helpful marks made", outcomes.get("helpful mark on", 0)),
        ("helpful marks taken back", outcomes.get("helpful mark off", 0)),
    ]:
        if count <= 0:
            failures.append(f"the soak must have {name}: {count}")
    after = stored_counts(before[1])
    if after != before:
        changed = [
            f"{kind} {pk}"
            for kind, old, new in (("title", before[0], after[0]), ("review", before[1], after[1]))
            for pk in old
            if old[pk] != new.get(pk)
        ]
        failures.append(f"the clean-up left stored counts changed: {', '.join(changed[:20])}")
    peaks = memory.peak_by_worker
    failures += over_rss_limit(peaks)

    aggregates_ok = not any(f.startswith("aggregates") for f in failures)
    counters_ok = not any(f.startswith("review counts") for f in failures)
    facts += [
        (
            "written (database)",
            f"{created:,} reviews created and at least {saved - created:,} edits; "
            f"{comments:,} comments; {outcomes.get('helpful mark on', 0):,} helpful marks made "
            f"and {outcomes.get('helpful mark off', 0):,} taken back ({standing} left standing)",
        ),
        (
            "peak RSS per worker",
            ", ".join(
                f"{peak:.0f} MB ({memory.anon_peak_by_worker.get(pid, 0):.0f} heap)"
                for pid, peak in sorted(peaks.items())
            )
            + f" (limit {RSS_LIMIT_MB} MB)",
        ),
        (
            "titles' rating aggregates",
            "match a recount" if aggregates_ok else "DO NOT match a recount",
        ),
        (
            "reviews' helpful and comment counts",
            "all match a recount" if counters_ok else "DO NOT all match a recount",
        ),
        (
            "after the clean-up",
            "titles and the reviews written to have their counts from before the run"
            if after == before
            else "COUNTS CHANGED",
        ),
    ]
    text, markdown_lines = soak_report(result, labels, facts)
    print()
    print(text)
    description = machine_description(env, gunicorn_settings, args, load_before)
    description += [
        ("Load after the run", f"{load_after:.2f} (1-minute load average)"),
        (
            "Rate limits",
            ", ".join(f"{k} {settings.RATE_LIMITS[k]}" for k in SOAK_WRITE_KINDS)
            + " per member, "
            + ("enforced" if settings.RATELIMIT_ENABLE else "OFF (RATELIMIT_ENABLE=0)")
            + "; the soak sends at most "
            + ", ".join(f"{SOAK_POSTS_PER_MEMBER[k]} {k}" for k in SOAK_WRITE_KINDS)
            + " posts per member",
        ),
    ]
    write_results(f"soak-{vendor}", f"Soak on {vendor}", description, [*markdown_lines, ""])
    return exit_status(failures, server)
