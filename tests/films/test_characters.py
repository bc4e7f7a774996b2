"""Returning characters: the crossover timeline (/characters/), the title page's
"Returning characters" and each character's timeline, all from the cast credits."""

import pytest
from django.urls import reverse

from films.models import RoutineDancer
from tests.factories import (
    CastCreditFactory,
    CharacterFactory,
    PersonFactory,
    RoutineFactory,
    TitleFactory,
)
from tests.html import assert_valid_accessible_page, parse, section_text, text_of

pytestmark = pytest.mark.django_db

TIMELINE = reverse("films:character_list")


@pytest.fixture
def franchise():
    """Three titles; Moose in the first and third (recast in the third), Camille in the
    second and third, the twins (one character, two people) in the second, Nora in the
    first only and Violet in the third only."""
    first = TitleFactory(name="Step Up", slug="step-up", franchise_position=1, release_year=2006)
    second = TitleFactory(
        name="Step Up 3D", slug="step-up-3d", franchise_position=2, release_year=2010
    )
    third = TitleFactory(
        name="Step Up: All In", slug="step-up-all-in", franchise_position=3, release_year=2014
    )
    moose, camille, twins, nora, violet = (
        CharacterFactory(name=name, slug=name.lower().replace(" ", "-"))
        for name in ("Moose", "Camille", "The Santiago Twins", "Nora", "Violet")
    )
    adam, alyson = PersonFactory(name="Adam Sevani"), PersonFactory(name="Alyson Stoner")
    CastCreditFactory(title=first, character=moose, person=adam)
    CastCreditFactory(title=third, character=moose, person=PersonFactory(name="A New Moose"))
    CastCreditFactory(title=second, character=camille, person=alyson)
    CastCreditFactory(title=third, character=camille, person=alyson)
    for twin in ("Facundo Lombard", "Martin Lombard"):
        CastCreditFactory(title=second, character=twins, person=PersonFactory(name=twin))
    CastCreditFactory(title=first, character=nora, person=PersonFactory(name="Jenna Dewan"))
    CastCreditFactory(title=third, character=violet, person=PersonFactory(name="Parris Goebel"))
    return {
        "titles": [first, second, third],
        "moose": moose,
        "camille": camille,
        "twins": twins,
        "nora": nora,
        "violet": violet,
    }


def timeline_table(page):
    tables = parse(page).findall(".//table")
    assert len(tables) == 1
    return tables[0]


def rows(page):
    """Each character's row: its header's text, then each cell's text (hidden words too)."""
    return [
        [text_of(cell) for cell in row]
        for body in timeline_table(page).findall("tbody")
        for row in body.findall("tr")
        if row.get("class") != "timeline-group"
    ]


def row_of(page, name):
    (row,) = [row for row in rows(page) if row[0] == name]
    return row


# --- The crossover timeline ----------------------------------------------------------


def test_the_timeline_is_a_table_with_a_caption_and_a_header_for_each_title_and_character(
    client, franchise
):
    page = client.get(TIMELINE)
    assert page.status_code == 200
    assert_valid_accessible_page(page.content.decode())
    table = timeline_table(page)
    assert "who plays them in each title" in text_of(table.find("caption"))
    columns = table.findall("thead/tr/th")
    assert [column.get("scope") for column in columns] == ["col"] * 4
    assert [text_of(column) for column in columns] == [
        "Character",
        "Step Up 2006",
        "Step Up 3D 2010",
        "Step Up: All In 2014",
    ]
    assert [column.find("a").get("href") for column in columns[1:]] == [
        title.get_absolute_url() for title in franchise["titles"]
    ]
    row_headers = [row.find("th") for body in table.findall("tbody") for row in body.findall("tr")]
    characters = [th for th in row_headers if th.get("scope") == "row"]
    assert len(characters) == 5  # one row per character
    moose = next(th for th in characters if text_of(th) == "Moose")
    assert moose.find("a").get("href") == franchise["moose"].get_absolute_url()
    groups = [th for th in row_headers if th.get("scope") == "rowgroup"]
    assert [text_of(th) for th in groups] == [
        "Returning characters, in two or more titles",
        "Other characters",
    ]


def test_the_table_scrolls_in_a_labelled_region_reachable_by_keyboard(client, franchise):
    page = client.get(TIMELINE)
    region = timeline_table(page)
    box = parse(page).find(".//div[@role='region']")
    assert box is not None and box.get("tabindex") == "0"
    assert box.find("table") is not None
    assert box.get("aria-labelledby") == region.find("caption").get("id")


def test_returning_characters_come_first_then_the_others_each_by_first_appearance(
    client, franchise
):
    names = [row[0] for row in rows(client.get(TIMELINE))]
    # Moose from the first title, Camille from the second; then Nora (first), the twins
    # (second) and Violet (third): in one title each.
    assert names == ["Moose", "Camille", "Nora", "The Santiago Twins", "Violet"]


def test_a_cell_names_who_plays_the_character_in_that_title_and_which_title_it_is(
    client, franchise
):
    page = client.get(TIMELINE)
    # Recast: each title's cell names that title's actor.
    assert row_of(page, "Moose") == [
        "Moose",
        "Adam Sevani in Step Up",
        "—not in Step Up 3D",
        "A New Moose in Step Up: All In",
    ]
    assert row_of(page, "Camille")[2:] == [
        "Alyson Stoner in Step Up 3D",
        "Alyson Stoner in Step Up: All In",
    ]
    # The actor is a link to their page; the title's name is there for a screen reader.
    cell = parse(page).find(".//tbody/tr/td")
    assert (
        cell.find("a").get("href") == franchise["moose"].credits.first().person.get_absolute_url()
    )
    assert cell.find("span").get("class") == "visually-hidden"


def test_the_twins_cell_names_both_people_who_play_the_one_character(client, franchise):
    assert row_of(client.get(TIMELINE), "The Santiago Twins")[2] == (
        "Facundo Lombard and Martin Lombard in Step Up 3D"
    )


def test_an_absent_cell_is_a_dash_that_says_not_in_the_title(client, franchise):
    page = client.get(TIMELINE)
    cell = parse(page).findall(".//tbody/tr")[1].findall("td")[1]  # Moose, Step Up 3D
    dash, words = cell.findall("span")
    assert dash.get("aria-hidden") == "true" and dash.text == "—"
    assert words.get("class") == "visually-hidden" and words.text == "not in Step Up 3D"


def test_the_filter_shows_only_the_returning_characters_as_a_plain_link(client, franchise):
    page = client.get(TIMELINE)
    filters = {
        text_of(a): a for a in parse(page).findall(".//nav[@aria-label='Which characters']//a")
    }
    assert filters["All 5 characters"].get("aria-current") == "page"
    only = filters["Only the 2 returning characters"]
    assert only.get("href") == f"{TIMELINE}?show=returning"
    assert only.get("aria-current") is None

    filtered = client.get(only.get("href"))
    assert [row[0] for row in rows(filtered)] == ["Moose", "Camille"]
    assert "Other characters" not in text_of(timeline_table(filtered))
    current = parse(filtered).find(
        ".//nav[@aria-label='Which characters']//a[@aria-current='page']"
    )
    assert text_of(current) == "Only the 2 returning characters"
    assert_valid_accessible_page(filtered.content.decode())


@pytest.mark.parametrize("value", ["yes", "RETURNING", "1", "9" * 40, "<b>"])
def test_an_unknown_filter_value_shows_every_character(client, franchise, value):
    page = client.get(TIMELINE, {"show": value})
    assert page.status_code == 200
    assert len(rows(page)) == 5
    assert "&lt;b&gt;" not in page.content.decode()


def test_with_nobody_returning_the_filter_says_so_instead_of_an_empty_table(client, db):
    CastCreditFactory()
    page = client.get(TIMELINE, {"show": "returning"})
    assert parse(page).find(".//table") is None
    assert "No character appears in two or more titles yet." in page.content.decode()
    assert len(rows(client.get(TIMELINE))) == 1


def test_a_nul_byte_in_the_filter_is_refused(client, franchise):
    assert client.get(TIMELINE, {"show": "returning\x00"}).status_code == 400


def test_the_loaded_catalogs_twins_and_returning_characters(client, catalog):
    page = client.get(TIMELINE)
    twins = row_of(page, "The Santiago Twins")
    assert twins[3] == "Facundo Lombard and Martin Lombard in Step Up 3D"
    assert twins[5] == "Facundo Lombard and Martin Lombard in Step Up: All In"
    assert row_of(page, "Moose")[1:6] == [
        "—not in Step Up",
        "Adam Sevani in Step Up 2: The Streets",
        "Adam Sevani in Step Up 3D",
        "—not in Step Up Revolution",
        "Adam Sevani in Step Up: All In",
    ]
    returning = [row[0] for row in rows(client.get(TIMELINE, {"show": "returning"}))]
    assert returning[:2] == ["Camille", "Tyler Gage"]  # both from the first film
    assert {"Moose", "Andie West", "Sean Asa", "Vladd", "The Santiago Twins"} <= set(returning)
    assert "Violet" not in returning


def test_the_timeline_puts_the_titles_in_order_of_release(client, catalog):
    # High Water, the series (2018), came out before Year of the Dance (2019), though it is
    # seventh in the franchise's own order.
    headers = parse(client.get(TIMELINE)).findall(".//table//thead//th[@scope='col']")
    names = [text_of(link) for header in headers if (link := header.find(".//a")) is not None]
    assert names == [
        "Step Up",
        "Step Up 2: The Streets",
        "Step Up 3D",
        "Step Up Revolution",
        "Step Up: All In",
        "Step Up: High Water",
        "Step Up: Year of the Dance",
    ]


def test_the_timeline_query_count_does_not_grow_with_characters_or_credits(
    client, franchise, django_assert_num_queries, no_page_cache
):
    # The titles, the characters, their cast credits with their people: three queries
    # whatever the number of characters, titles and credits.
    with django_assert_num_queries(3):
        assert client.get(TIMELINE).status_code == 200
    titles = franchise["titles"] + TitleFactory.create_batch(4)
    for index in range(30):
        character = CharacterFactory()
        for title in titles[index % 3 :: 2]:
            CastCreditFactory(title=title, character=character)
    with django_assert_num_queries(3):
        page = client.get(TIMELINE)
    assert len(rows(page)) == 35


# --- The title page's returning characters -------------------------------------------


def test_a_title_page_names_who_returns_and_from_which_earlier_titles(client, franchise):
    first, _second, third = franchise["titles"]
    section = section_text(client.get(third.get_absolute_url()), "returning-heading")
    # In the cast's billing order, each from the earlier titles they are in; Violet, new
    # in this title, is not there, nor Nora, who does not come back.
    assert section == (
        "Returning characters Moose, from Step Up Camille, from Step Up 3D "
        "Every returning character across the franchise"
    )
    links = parse(client.get(third.get_absolute_url())).findall(
        ".//section[@aria-labelledby='returning-heading']//a"
    )
    assert [a.get("href") for a in links[:2]] == [
        franchise["moose"].get_absolute_url(),
        first.get_absolute_url(),
    ]
    assert links[-1].get("href") == f"{TIMELINE}?show=returning"


def test_the_returning_section_lists_every_earlier_title_and_never_a_later_one(client, franchise):
    _first, second, third = franchise["titles"]
    CastCreditFactory(title=second, character=franchise["moose"])
    section = section_text(client.get(third.get_absolute_url()), "returning-heading")
    assert "Moose, from Step Up and Step Up 3D" in section
    # The second title: Moose returns from the first; Camille starts there, and the
    # later title she returns in is no title she comes from.
    earlier = section_text(client.get(second.get_absolute_url()), "returning-heading")
    assert earlier == (
        "Returning characters Moose, from Step Up Every returning character across the franchise"
    )


def test_a_title_nobody_returns_in_has_no_returning_section(client, franchise):
    first = franchise["titles"][0]
    page = client.get(first.get_absolute_url())
    assert parse(page).find(".//*[@id='returning-heading']") is None


def test_all_in_names_its_returning_characters_from_the_loaded_catalog(client, catalog):
    page = client.get(reverse("films:title_detail", kwargs={"slug": "step-up-all-in"}))
    section = section_text(page, "returning-heading")
    assert "Moose, from Step Up 2: The Streets and Step Up 3D" in section
    assert "Andie West, from Step Up 2: The Streets" in section
    assert "Camille, from Step Up and Step Up 3D" in section
    assert "Sean Asa, from Step Up Revolution" in section
    assert "The Santiago Twins, from Step Up 3D" in section
    assert "Violet" not in section and "Alexxa Brava" not in section
    assert_valid_accessible_page(page.content.decode())


# --- A character's timeline ------------------------------------------------------------


def test_a_character_page_shows_every_title_in_order_and_who_plays_them_where(client, franchise):
    page = client.get(franchise["moose"].get_absolute_url())
    assert_valid_accessible_page(page.content.decode())
    timeline = parse(page).find(".//ol[@class='character-timeline']")
    assert [text_of(item) for item in timeline.findall("li")] == [
        "Step Up (2006): played by Adam Sevani",
        "Step Up 3D (2010): not in this title",
        "Step Up: All In (2014): played by A New Moose",
    ]
    assert [item.get("class") for item in timeline.findall("li")] == ["is-in", "is-out", "is-in"]
    assert "In 2 titles of 3, in order of release:" in section_text(page, "timeline-heading")


def test_a_twin_characters_timeline_names_both_people(client, franchise):
    page = client.get(franchise["twins"].get_absolute_url())
    assert "Step Up 3D (2010): played by Facundo Lombard and Martin Lombard" in section_text(
        page, "timeline-heading"
    )


def test_a_character_page_lists_the_routines_danced_as_them_once_each(client, franchise):
    second = franchise["titles"][1]
    routine = RoutineFactory(title=second, name="The World Jam finale", slug="world-jam-finale")
    for credit in franchise["twins"].credits.all():  # both twins dance it
        RoutineDancer.objects.create(
            routine=routine, person=credit.person, character=franchise["twins"]
        )
    page = client.get(franchise["twins"].get_absolute_url())
    twins = [credit.person for credit in franchise["twins"].credits.order_by("person__name")]
    assert section_text(page, "routines-danced-heading") == (
        f"Routines danced as {franchise['twins'].name} The World Jam finale in Step Up 3D "
        f"(danced by {twins[0].name} and {twins[1].name})"
    )
    links = parse(page).findall(".//section[@aria-labelledby='routines-danced-heading']//a")
    assert [a.get("href") for a in links] == [
        routine.get_absolute_url(),
        second.get_absolute_url(),
        *(person.get_absolute_url() for person in twins),
    ]
    # A character who dances nothing has no such section.
    nora = parse(client.get(franchise["nora"].get_absolute_url()))
    assert nora.find(".//*[@id='routines-danced-heading']") is None


def test_a_character_without_credits_says_so(client, db):
    TitleFactory()
    page = client.get(CharacterFactory().get_absolute_url())
    assert "No appearances have been added for this character yet." in section_text(
        page, "timeline-heading"
    )
