"""Routine pages and the franchise routine leaderboard (films.selectors.rank_routines)."""

import pytest
from django.test import Client
from django.urls import reverse

from films.models import Routine, Title
from films.selectors import ROUTINE_PRIOR_VOTES, rank_routines, weighted_rating
from reviews.models import Review
from tests.factories import (
    CastCreditFactory,
    CharacterFactory,
    CrewFactory,
    PersonFactory,
    RoutineDancerFactory,
    RoutineFactory,
    TitleFactory,
    UserFactory,
    review,
    routine_rating,
)
from tests.html import (
    assert_valid_accessible_page,
    element,
    element_text,
    parse,
    section_text,
    text_of,
)

pytestmark = pytest.mark.django_db

# --- The ranking, with numbers (routines as the page reads them, never saved) ---------------


def routine(pk, *, votes=0, half_stars=0, position=1, order=0):
    """A routine with stored ratings: `votes` of them summing to `half_stars`."""
    title = Title(pk=position, franchise_position=position, slug=f"title-{position}")
    return Routine(
        pk=pk, title=title, order=order, rating_count=votes, rating_sum=half_stars, slug=f"r{pk}"
    )


def order_of(board):
    return [(entry.routine.pk, entry.rank) for entry in board.entries]


def test_the_weighted_rating_is_imdbs_formula():
    # v/(v+m)·R + m/(v+m)·C with v = 3 ratings of 5 stars, m = 10, C = 3 stars
    assert weighted_rating(votes=3, rating_sum=30, prior_votes=10, site_average=3.0) == (
        pytest.approx(3 / 13 * 5 + 10 / 13 * 3)
    )
    assert weighted_rating(votes=0, rating_sum=0, prior_votes=10, site_average=3.5) == 3.5


def test_one_five_star_vote_does_not_beat_a_hundred_votes_of_four_and_a_half_stars():
    board = rank_routines(
        [
            routine(1, votes=1, half_stars=10),  # one vote, 5 stars
            routine(2, votes=100, half_stars=900),  # a hundred votes, 4.5 stars each
            routine(3, votes=200, half_stars=1200),  # the rest of the site: 3 stars
        ]
    )
    assert order_of(board) == [(2, 1), (1, 2), (3, 3)]
    one_vote, hundred = board.entries[1].score, board.entries[0].score
    assert hundred == pytest.approx(4.41, abs=0.01) and one_vote == pytest.approx(3.64, abs=0.01)


def test_c_is_the_mean_of_every_routine_rating_not_the_mean_of_the_averages():
    board = rank_routines(
        [routine(1, votes=1, half_stars=10), routine(2, votes=3, half_stars=6), routine(3)]
    )
    assert board.site_average == 2.0  # 16 half-stars over 4 ratings; the averages' mean is 3
    assert board.total_votes == 4
    assert board.prior_votes == ROUTINE_PRIOR_VOTES == 10


def test_equal_scores_share_a_rank_with_more_votes_listed_first():
    board = rank_routines(
        [
            routine(1, votes=2, half_stars=12, position=1),  # 3 stars, the site's average
            routine(2, votes=4, half_stars=24, position=2),  # 3 stars too, more votes
            routine(3, votes=5, half_stars=40, position=3),  # 4 stars
            routine(4, votes=2, half_stars=8, position=4),  # 2 stars
            routine(5, votes=2, half_stars=8, position=5),  # the same ratings exactly
        ]
    )
    assert board.site_average == pytest.approx(92 / 15 / 2)
    # 1 and 2 both average 3 stars, under C: the one with fewer votes stays nearer C, above.
    # 4 and 5 have the same ratings: one rank, in franchise order, and the next rank is 6.
    assert order_of(board) == [(3, 1), (1, 2), (2, 3), (4, 4), (5, 4)]


def test_routines_at_the_site_average_tie_whatever_their_votes_and_the_busier_comes_first():
    board = rank_routines(
        [routine(1, votes=2, half_stars=12, position=1), routine(2, votes=6, half_stars=36)]
    )
    assert board.site_average == 3.0
    assert order_of(board) == [(2, 1), (1, 1)]


def test_routines_no_one_rated_come_last_unranked_in_franchise_order():
    board = rank_routines(
        [
            routine(1, position=2),
            routine(2, votes=3, half_stars=3, position=3),  # half a star: far below C
            routine(3, position=1, order=2),
            routine(4, votes=1, half_stars=10, position=4),
            routine(5, position=1, order=1),
        ]
    )
    assert order_of(board) == [(4, 1), (2, 2), (5, None), (3, None), (1, None)]
    assert [entry.routine.pk for entry in board.ranked] == [4, 2]


def test_before_any_rating_every_routine_is_unranked():
    board = rank_routines([routine(1), routine(2)])
    assert board.site_average is None
    assert order_of(board) == [(1, None), (2, None)]


# --- The leaderboard page and its filters ------------------------------------------------


@pytest.fixture
def franchise():
    """Two titles, three routines: Vegas rated highest, the lab audition second."""
    first = TitleFactory(name="Step Up", slug="step-up", franchise_position=1)
    all_in = TitleFactory(name="Step Up: All In", slug="step-up-all-in", franchise_position=5)
    lmntrix, mob = CrewFactory(name="LMNTRIX", slug="lmntrix"), CrewFactory(name="The Mob")
    showcase = RoutineFactory(title=first, name="Showcase", slug="showcase", order=1)
    lab = RoutineFactory(title=all_in, name="Lab", slug="lab", order=1, crews=[lmntrix])
    vegas = RoutineFactory(title=all_in, name="Vegas", slug="vegas", order=2, crews=[lmntrix, mob])
    members = UserFactory.create_batch(4)
    for member in members:
        routine_rating(routine=vegas, member=member, rating=10)
        routine_rating(routine=lab, member=member, rating=7)
    return {"first": first, "all_in": all_in, "lmntrix": lmntrix, "mob": mob, "showcase": showcase}


def leaderboard(client, **query):
    return client.get(reverse("films:routine_list"), query)


def rows(response):
    """The leaderboard's rows: (rank, routine, score, average, votes, title, crews, best)."""
    table = parse(response).find(".//table")
    return [tuple(text_of(cell) for cell in row) for row in table.find("tbody")]


def test_the_leaderboard_ranks_every_routine_in_a_table_with_caption_and_headers(client, franchise):
    response = leaderboard(client)
    html = response.content.decode()
    assert_valid_accessible_page(html)
    table = parse(response).find(".//table")
    assert "3 routines, best first" in text_of(table.find("caption"))
    headers = [text_of(th) for th in table.find("thead").iter("th")]
    # The numbers next to the name: on a phone they are in view before the table scrolls.
    assert headers == [
        "Rank",
        "Routine",
        "Weighted score",
        "Average",
        "Votes",
        "Title",
        "Crews",
        "Named best routine",
    ]
    assert all(th.get("scope") == "col" for th in table.find("thead").iter("th"))
    assert [row[:2] + row[5:7] for row in rows(response)] == [
        ("1", "Vegas", "Step Up: All In", "LMNTRIX, The Mob"),
        ("2", "Lab", "Step Up: All In", "LMNTRIX"),
        ("–Not ranked", "Showcase", "Step Up", "–None recorded"),
    ]
    # C = (40 + 28) / 8 half-stars / 2 = 4.25 stars; Vegas (40/2 + 10 * 4.25) / 14 = 4.46
    assert rows(response)[0][2:5] + rows(response)[0][7:] == ("4.46", "5.0", "4", "0")
    assert rows(response)[2][2:5] == ("No ratings yet", "–None", "0")
    assert 'href="/routines/vegas/"' in html and 'href="/titles/step-up-all-in/"' in html


def test_the_leaderboard_explains_m_and_c_in_plain_words(client, franchise):
    explained = section_text(leaderboard(client), "how-heading")
    assert "m = 10" in explained
    assert "4.25 stars, from 8 ratings" in explained
    assert "does not outrank a hundred votes" in explained
    assert "no one has rated yet come last" in explained


def test_the_title_filter_keeps_the_franchise_wide_ranks(client, franchise):
    assert [row[:2] for row in rows(leaderboard(client, title="step-up"))] == [
        ("–Not ranked", "Showcase")
    ]
    assert [row[:2] for row in rows(leaderboard(client, title="step-up-all-in"))] == [
        ("1", "Vegas"),
        ("2", "Lab"),
    ]


def test_the_crew_filter_lists_the_routines_that_crew_dances(client, franchise):
    assert [row[1] for row in rows(leaderboard(client, crew=franchise["mob"].slug))] == ["Vegas"]
    assert [row[1] for row in rows(leaderboard(client, crew="lmntrix"))] == ["Vegas", "Lab"]


def test_best_of_each_title_keeps_each_titles_top_routine_and_leaves_out_unrated_titles(
    client, franchise
):
    other = TitleFactory(name="Step Up 3D", slug="step-up-3d", franchise_position=3)
    routine_rating(routine=RoutineFactory(title=other, name="World Jam"), rating=2)
    assert [(*row[:2], row[5]) for row in rows(leaderboard(client, best="on"))] == [
        ("1", "Vegas", "Step Up: All In"),
        ("3", "World Jam", "Step Up 3D"),
    ]
    both = leaderboard(client, best="on", title="step-up-3d", crew="")
    assert [row[1] for row in rows(both)] == ["World Jam"]


def test_the_filters_work_as_a_plain_get_form_that_keeps_its_choices(client, franchise):
    html = leaderboard(client, title="step-up-all-in", best="on").content.decode()
    form = parse(html).find(".//form[@aria-label='Filter the routines']")
    assert form.get("method") == "get"
    assert '<option value="step-up-all-in" selected>Step Up: All In</option>' in html
    assert 'name="best"' in html and "checked" in html
    # Only titles and crews with routines are offered.
    assert [o.get("value") for o in form.iter("option")] == [
        "",
        "step-up",
        "step-up-all-in",
        "",
        "lmntrix",
        franchise["mob"].slug,
    ]


def test_an_unknown_filter_value_says_so_and_filters_by_the_others(client, franchise):
    response = leaderboard(client, title="no-such-title", crew=franchise["mob"].slug)
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert [row[1] for row in rows(response)] == ["Vegas"]
    nothing = leaderboard(client, title="step-up", crew="lmntrix")
    assert "No routines match these filters." in nothing.content.decode()


@pytest.mark.parametrize("value", ["\x01", "9" * 40, "é" * 300])
def test_odd_filter_values_never_fail(client, franchise, value):
    assert leaderboard(client, title=value, crew=value, best=value).status_code == 200


def test_the_leaderboard_query_count_is_the_same_whatever_the_number_of_routines(
    client, franchise, django_assert_num_queries, no_page_cache
):
    # The routines with their titles, then their crews: ranks, C and the filters' choices
    # are worked out from those two, so a routine more costs no query.
    with django_assert_num_queries(2):
        leaderboard(client)
    for title in TitleFactory.create_batch(5):
        for _ in range(6):
            rated = RoutineFactory(title=title, crews=CrewFactory.create_batch(2))
            routine_rating(routine=rated, rating=1 + rated.pk % 10)
    with django_assert_num_queries(2):
        response = leaderboard(client, best="on")
    with django_assert_num_queries(2):
        response = leaderboard(client)
    assert len(rows(response)) == 33


# --- A routine's page ---------------------------------------------------------------------


@pytest.fixture
def vegas(franchise):
    vegas = Routine.objects.get(slug="vegas")
    vegas.description = "The crews' last battle, on the Las Vegas stage."
    vegas.save()
    moose = CharacterFactory(name="Moose", slug="moose")
    adam = PersonFactory(name="Adam Sevani", slug="adam-sevani")
    RoutineDancerFactory(routine=vegas, person=adam, character=moose)
    RoutineDancerFactory(routine=vegas, person=PersonFactory(name="A Dancer"))
    vegas.choreographers.set([PersonFactory(name="Jamal Sims", slug="jamal-sims")])
    return vegas


def routine_page(client, routine):
    return client.get(reverse("films:routine_detail", kwargs={"slug": routine.slug}))


def test_a_routine_page_shows_what_it_is_who_dances_it_and_its_rating(client, vegas):
    response = routine_page(client, vegas)
    html = response.content.decode()
    assert_valid_accessible_page(html)
    main = text_of(parse(html).find(".//main"))
    assert "Vegas" in text_of(parse(html).find(".//h1"))
    assert "A dance routine of Step Up: All In" in main
    assert "The crews' last battle" in main
    assert 'href="/titles/step-up-all-in/"' in html
    assert 'href="/crews/lmntrix/">LMNTRIX</a>' in html
    assert "Jamal Sims" in main
    dancers = section_text(response, "dancers-heading")
    assert "Adam Sevani as Moose" in dancers and "A Dancer" in dancers
    assert 'href="/people/adam-sevani/">Adam Sevani</a> as <a href="/characters/moose/">' in html
    assert element_text(response, "routine-rating-average") == "5.0"
    assert element_text(response, "routine-rating-count") == "4 ratings"
    assert 'aria-label="5 out of 5 stars"' in html
    # The trail back to the leaderboard.
    trail = parse(html).find(".//nav[@aria-label='Breadcrumb']")
    assert [text_of(item) for item in trail.iter("li")] == ["Routines", "Vegas"]


def test_a_visitor_is_asked_to_sign_in_to_rate_and_comes_back_to_the_stars(client, vegas):
    rating = text_of(element(routine_page(client, vegas), "your-rating"))
    assert "Sign in to rate this routine" in rating
    assert "/accounts/login/?next=/routines/vegas/%23your-rating" in (
        routine_page(client, vegas).content.decode()
    )


def test_a_member_sees_the_star_form_with_their_own_rating_chosen(client, vegas):
    member = UserFactory()
    routine_rating(routine=vegas, member=member, rating=7)
    client.force_login(member)
    response = routine_page(client, vegas)
    assert_valid_accessible_page(response.content.decode())
    part = element(response, "your-rating")
    assert "You gave it 3½ stars." in text_of(part)
    checked = [i.get("value") for i in part.iter("input") if i.get("checked") is not None]
    assert checked == ["7"]
    buttons = [text_of(button) for button in part.iter("button")]
    assert buttons == ["Change my rating", "Remove my rating"]


def test_a_routine_page_lists_the_newest_reviews_that_name_it_best(client, vegas):
    for number in range(7):
        written = review(title=vegas.title, headline=f"Review {number}", body="Words")
        Review.objects.filter(pk=written.pk).update(best_routine=vegas)
    Routine.objects.filter(pk=vegas.pk).update(best_routine_count=7)
    section = element(routine_page(client, vegas), "named-best")
    text = text_of(section)
    assert "7 reviews name it the best routine of Step Up: All In." in text
    assert [text_of(a) for a in section.iter("a")] == [f"Review {n}" for n in range(6, 1, -1)]


def test_a_routine_no_one_named_or_rated_says_so(client, franchise):
    response = routine_page(client, franchise["showcase"])
    text = text_of(parse(response).find(".//main"))
    assert "No one has rated Showcase yet." in text
    assert "No review names it the best routine of Step Up yet." in text
    assert "The dancers of this routine have not been added yet." in text


def test_an_unknown_routine_is_a_404(client, db):
    assert client.get("/routines/no-such-routine/").status_code == 404


def test_a_routine_page_query_count_does_not_grow_with_its_dancers_and_reviews(
    client, vegas, django_assert_num_queries, no_page_cache
):
    # The routine and its title, its crews, its dancers with people and characters, its
    # choreographers, the reviews naming it.
    with django_assert_num_queries(5):
        routine_page(client, vegas)
    for _ in range(10):
        RoutineDancerFactory(routine=vegas, character=CharacterFactory())
        written = review(title=vegas.title, body="Words")
        Review.objects.filter(pk=written.pk).update(best_routine=vegas)
    vegas.crews.add(*CrewFactory.create_batch(5))
    with django_assert_num_queries(5):
        routine_page(client, vegas)


# --- Linked from the catalog ------------------------------------------------------------------


def test_a_routine_is_linked_from_its_title_crew_dancers_and_their_characters(client, vegas):
    link = 'href="/routines/vegas/"'
    for url in ("/titles/step-up-all-in/", "/crews/lmntrix/", "/people/jamal-sims/"):
        assert link in client.get(url).content.decode(), url
    person = client.get("/people/adam-sevani/")
    assert "Vegas in Step Up: All In (as Moose)" in section_text(person, "routines-danced-heading")
    character = client.get("/characters/moose/")
    assert "Vegas in Step Up: All In (danced by Adam Sevani)" in section_text(
        character, "routines-danced-heading"
    )
    assert_valid_accessible_page(character.content.decode())


def top_routines(client):
    return parse(client.get("/")).find(".//section[@aria-labelledby='top-routines-heading']")


def test_the_home_page_shows_the_top_routines_linking_to_the_leaderboard(client, franchise):
    section = top_routines(client)
    items = [text_of(item) for item in section.find("ol")]
    assert items == [
        "1. Vegas in Step Up: All In weighted score 4.46, 4 votes",
        "2. Lab in Step Up: All In weighted score 4.04, 4 votes",
    ]
    assert any(a.get("href") == "/routines/" for a in section.iter("a"))


def test_the_home_page_shows_at_most_five_routines(client, franchise):
    for _ in range(6):
        routine_rating(routine=RoutineFactory(title=franchise["first"]), rating=6)
    section = top_routines(client)
    assert len(section.find("ol")) == 5


def test_the_leaderboard_and_routine_pages_refuse_writes(client, vegas):
    assert client.post("/routines/").status_code == 405
    assert client.post("/routines/vegas/").status_code == 405


def test_a_cast_credit_alone_does_not_make_a_dancer(client, vegas):
    # Dancers come from the routine's own rows, not from the title's cast.
    CastCreditFactory(title=vegas.title, person=PersonFactory(name="Only In The Cast"))
    assert "Only In The Cast" not in section_text(routine_page(Client(), vegas), "dancers-heading")


def test_a_catalog_edit_of_a_routine_never_writes_back_the_counts_it_read(db):
    stale = RoutineFactory()
    routine_rating(routine=stale, rating=9)  # after the editor's copy was read
    Routine.objects.filter(pk=stale.pk).update(best_routine_count=1)
    stale.name = "Renamed in the admin"
    stale.save()
    fresh = Routine.objects.get(pk=stale.pk)
    assert fresh.name == "Renamed in the admin"
    assert (fresh.rating_count, fresh.rating_sum, fresh.best_routine_count) == (1, 9, 1)


def test_twins_dancing_one_character_list_the_routine_once_with_both_dancers(client, vegas):
    twins = CharacterFactory(name="The Twins", slug="the-twins")
    for name in ("Twin One", "Twin Two"):
        RoutineDancerFactory(routine=vegas, person=PersonFactory(name=name), character=twins)
    danced = section_text(client.get("/characters/the-twins/"), "routines-danced-heading")
    assert danced == (
        "Routines danced as The Twins Vegas in Step Up: All In (danced by Twin One and Twin Two)"
    )
