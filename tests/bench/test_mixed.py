"""The mixed load's own logic, without servers: the open-loop writer, the write mix and the
table (bench/mixed.py)."""

import argparse
import itertools
import random

import pytest

from bench.mixed import (
    MixedRow,
    WriteMix,
    WriterStats,
    mixed_rows,
    parse_rates,
    run_open_loop,
    window,
)


class FakeClock:
    """Time that moves only when the writer sleeps or a write takes it."""

    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        assert seconds > 0
        self.now += seconds


def run_for(seconds, rate, write_seconds, *, fail_every=0):
    clock = FakeClock()
    stats = WriterStats()
    due_times = []
    end = clock.now + seconds

    def write(n):
        due_times.append(clock.now)
        clock.now += write_seconds
        if fail_every and n % fail_every == 0:
            raise RuntimeError("database is locked")
        return "vote"

    run_open_loop(rate, write, stats, stop=lambda: clock.now >= end, clock=clock, sleep=clock.sleep)
    return stats, due_times


def test_a_fast_writer_writes_on_the_clock_and_never_late():
    stats, started = run_for(10, rate=5, write_seconds=0.01)

    assert stats.done == 50
    assert stats.late == 0
    # Each write starts at its own time: 0.2 s apart, not 0.2 s after the last one ended.
    gaps = [later - earlier for earlier, later in itertools.pairwise(started)]
    assert all(gap == pytest.approx(0.2) for gap in gaps)


def test_a_slow_writer_is_not_waited_for_its_late_writes_are_counted_not_skipped():
    # Each write takes 0.5 s at 5 a second (0.2 s apart): the clock keeps running.
    stats, started = run_for(10, rate=5, write_seconds=0.5)

    # Back to back: every write starts as the one before ends, none skipped to catch up.
    assert stats.done == 20
    assert all(
        later - earlier == pytest.approx(0.5) for earlier, later in itertools.pairwise(started)
    )
    # Write n starts at 0.5 n s, due at 0.2 n s: late past 0.25 s from n = 1 on.
    assert stats.late == 19
    assert stats.max_late_seconds == pytest.approx(19 * 0.3)


def test_failed_writes_are_counted_and_the_load_goes_on():
    stats, _started = run_for(2, rate=10, write_seconds=0.001, fail_every=4)

    assert stats.done + stats.errors == 20
    assert stats.errors == 5
    assert stats.error_samples[0] == "RuntimeError: database is locked"
    assert len(stats.error_samples) <= 5


def test_the_window_between_two_snapshots_gives_the_writes_a_second_achieved():
    stats = WriterStats(done=10, late=1)
    before = stats.snapshot(50.0)
    stats.done, stats.late, stats.errors = 60, 4, 2
    after = stats.snapshot(60.0)

    assert window(before, after) == {"rate": 5.0, "done": 50, "late": 3, "errors": 2}
    assert window(None, None)["rate"] == 0.0


def test_the_write_mix_makes_all_in_the_hottest_title_and_mixes_every_kind():
    mix = WriteMix([1, 2, 3, 4, 5, 6, 7], hot_id=5)
    rng = random.Random(3)
    picks = [mix.pick(rng) for _ in range(20_000)]
    titles = [title for _kind, title in picks]
    kinds = {kind for kind, _title in picks}

    assert kinds == {"vote", "review", "edit", "comment", "routine"}
    assert titles.count(5) / len(titles) == pytest.approx(0.4, abs=0.02)
    assert all(titles.count(5) > 3 * titles.count(other) for other in (1, 2, 3, 4, 6, 7))


def wrk(rps, errors=0):
    return {"rps": rps, "p50_ms": 5.0, "p95_ms": 9.04, "p99_ms": 12.0, "errors": errors}


def test_the_table_gives_each_page_its_ratio_to_healthz_at_the_same_write_rate():
    quiet = {"rate": 0.0, "done": 0, "late": 0, "errors": 0}
    busy = {"rate": 4.96, "done": 50, "late": 2, "errors": 0}
    rows = mixed_rows(
        [
            MixedRow(0, "/healthz", wrk(2000), quiet),
            MixedRow(0, "All In, anonymous", wrk(1000), quiet),
            MixedRow(5, "/healthz", wrk(1000), busy),
            MixedRow(5, "All In, anonymous", wrk(250, errors=3), busy),
        ]
    )

    # With no writer, its columns say so rather than 0.
    assert rows[1] == [
        "0",
        "All In, anonymous",
        "1000.0",
        "5.0",
        "9.0",
        "12.0",
        "0",
        "0.50",
        "-",
        "-",
        "-",
    ]
    assert rows[3] == [
        "5",
        "All In, anonymous",
        "250.0",
        "5.0",
        "9.0",
        "12.0",
        "3",
        "0.25",
        "5.0",
        "2",
        "0",
    ]


def test_write_rates_are_parsed_and_nonsense_refused():
    assert parse_rates("0,1,5,20") == [0, 1, 5, 20]
    assert parse_rates("2.5") == [2.5]
    with pytest.raises(argparse.ArgumentTypeError):
        parse_rates("1,-3")
    with pytest.raises(argparse.ArgumentTypeError):
        parse_rates("")


@pytest.mark.django_db
def test_the_writers_routine_ratings_change_the_counts_and_are_put_back_afterwards():
    from bench.load import ALL_IN_NAME
    from bench.members import BENCH_PASSWORD
    from bench.mixed import Writes
    from films.models import Routine
    from reviews import services
    from tests.factories import RoutineFactory, TitleFactory, UserFactory

    all_in = TitleFactory(name=ALL_IN_NAME)
    finale = RoutineFactory(title=all_in)
    members = [UserFactory(username=f"bench-{n:07d}") for n in range(1, 4)]
    for member in members:  # what marks a bench member: a password nobody can sign in with
        type(member).objects.filter(pk=member.pk).update(password=BENCH_PASSWORD)
    services.routine_rate(routine=finale, member=members[0], rating=4)  # from the data
    writes = Writes(random.Random(1))
    writes.routines = {pk: [finale] for pk in writes.routines}
    for rating in (10, 9, 8, 7, 6, 5):
        assert writes._rate_routine(all_in.pk, rating) == "routine"
    finale.refresh_from_db()
    assert finale.rating_sum != 4 or finale.rating_count != 1

    assert writes.clean_up()["routine_ratings_put_back"] == len(writes.routine_ratings)
    finale = Routine.objects.get(pk=finale.pk)
    assert (finale.rating_count, finale.rating_sum) == (1, 4)
    assert finale.ratings.get().member == members[0]


@pytest.mark.django_db
def test_one_new_review_in_ten_is_in_spanish_and_the_counts_by_language_are_put_back():
    from bench.load import ALL_IN_NAME
    from bench.members import BENCH_PASSWORD
    from bench.mixed import SPANISH_EVERY, Writes
    from reviews import services
    from reviews.models import TitleLanguageCount
    from tests.factories import TitleFactory, UserFactory

    all_in = TitleFactory(name=ALL_IN_NAME)
    members = [UserFactory(username=f"bench-{n:07d}") for n in range(1, 2 * SPANISH_EVERY + 3)]
    for member in members:
        type(member).objects.filter(pk=member.pk).update(password=BENCH_PASSWORD)
    writes = Writes(random.Random(1))
    writes.mix.pick = lambda rng: ("review", all_in.pk)  # new reviews only, all on All In
    for n in range(2 * SPANISH_EVERY):
        assert writes.write(n) == "review"
    languages = [review.language for review in writes.created[all_in.pk]]
    assert languages.count("es") == 2 and languages.count("en") == 2 * SPANISH_EVERY - 2
    stored = TitleLanguageCount.objects.of_title(all_in)
    assert stored == {"en": 2 * SPANISH_EVERY - 2, "es": 2}
    assert stored == services.title_language_counts_recount(all_in)

    writes.clean_up()
    assert TitleLanguageCount.objects.of_title(all_in) == {}
