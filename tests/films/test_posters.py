import colorsys
import itertools

import pytest

from films.posters import poster_colour, poster_lines


@pytest.mark.parametrize(
    ("name", "lines"),
    [
        ("Step Up", ("", "STEP UP")),
        ("Step Up: All In", ("STEP UP", "ALL IN")),
        ("Step Up 2: The Streets", ("STEP UP 2", "THE STREETS")),
        ("Step Up 3D", ("STEP UP", "3D")),
        ("Step Up Revolution", ("STEP UP", "REVOLUTION")),
        ("Born to Dance", ("", "BORN TO DANCE")),
        ("Step Uptown", ("", "STEP UPTOWN")),
    ],
)
def test_a_poster_draws_the_franchise_as_a_label_and_the_rest_large(name, lines):
    assert poster_lines(name) == lines


def test_neighbouring_titles_get_clearly_different_colours():
    hues = [colorsys.rgb_to_hsv(*(c / 255 for c in poster_colour(i)))[0] for i in range(1, 9)]
    for previous, current in itertools.pairwise(hues):
        distance = min(abs(previous - current), 1 - abs(previous - current))
        assert distance > 0.2
