"""The uncached render times' own arithmetic (bench/uncached.py), without rendering."""

import random

from bench.uncached import percentile


def test_the_p95_of_30_renders_is_the_29th_fastest():
    timings = list(range(1, 31))
    random.Random(1).shuffle(timings)

    assert percentile(timings, 0.95) == 29
    assert percentile(timings, 0.5) == 15
    assert percentile([7.0], 0.95) == 7.0
