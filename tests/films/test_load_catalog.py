import json

import pytest
from django.core.management import CommandError, call_command
from django.utils import translation

from films.models import (
    Character,
    Credit,
    Crew,
    CrewMembership,
    Person,
    Routine,
    RoutineDancer,
    Title,
    Trivia,
)
from films.services import CATALOG_FILE

pytestmark = pytest.mark.django_db

ALL_MODELS = (Title, Person, Character, Credit, Crew, CrewMembership, Routine, Trivia)


def row_counts():
    return {model.__name__: model.objects.count() for model in ALL_MODELS}


def test_loads_the_whole_franchise(catalog):
    assert row_counts() == {
        "Title": 7,
        "Person": 38,
        "Character": 28,
        "Credit": 49,
        "Crew": 6,
        "CrewMembership": 21,
        "Routine": 10,
        "Trivia": 7,
    }
    assert list(Title.objects.values_list("name", flat=True)) == [
        "Step Up",
        "Step Up 2: The Streets",
        "Step Up 3D",
        "Step Up Revolution",
        "Step Up: All In",
        "Step Up: Year of the Dance",
        "Step Up: High Water",
    ]
    assert Title.objects.films().count() == 6
    assert list(Title.objects.series().values_list("slug", flat=True)) == ["step-up-high-water"]


def test_all_in_carries_the_facts_of_the_source_article(catalog):
    all_in = Title.objects.get(slug="step-up-all-in")
    assert all_in.box_office_domestic_usd == 14_900_000
    assert all_in.box_office_international_usd == 71_000_000
    directors = Credit.objects.filter(title=all_in, role=Credit.Role.DIRECTOR)
    assert [credit.person.name for credit in directors] == ["Trish Sie"]
    cast = {(c.person.name, c.character.name) for c in Credit.objects.cast().filter(title=all_in)}
    assert {
        ("Ryan Guzman", "Sean Asa"),
        ("Adam Sevani", "Moose"),
        ("Briana Evigan", "Andie West"),
        ("Mari Koda", "Jenny Kido"),
        ("Chadd Smith", "Vladd"),
        ("Izabella Miko", "Alexxa Brava"),
        ("Alyson Stoner", "Camille"),
        ('Stephen "tWitch" Boss', "Jason"),
        ("Parris Goebel", "Violet"),
    } <= cast
    lmntrix = CrewMembership.objects.filter(crew__slug="lmntrix", title=all_in)
    assert {member.person.name for member in lmntrix} >= {
        "Ryan Guzman",
        "Adam Sevani",
        "Briana Evigan",
        "Mari Koda",
        "Facundo Lombard",
        "Martin Lombard",
        "Chadd Smith",
    }
    routines = list(all_in.routines.values_list("slug", flat=True))
    assert routines == ["frankenstein-lab-audition", "las-vegas-finale"]
    assert all_in.trivia.filter(text__contains="first feature film").exists()


def test_characters_return_across_titles_in_franchise_order(catalog):
    moose_titles = Credit.objects.filter(character__slug="moose").values_list(
        "title__name", flat=True
    )
    assert list(moose_titles) == ["Step Up 2: The Streets", "Step Up 3D", "Step Up: All In"]
    andie_titles = Credit.objects.filter(character__slug="andie-west").values_list(
        "title__slug", flat=True
    )
    assert list(andie_titles) == ["step-up-2-the-streets", "step-up-all-in"]
    camille_titles = Credit.objects.filter(character__slug="camille").values_list(
        "title__slug", flat=True
    )
    assert list(camille_titles) == ["step-up", "step-up-3d", "step-up-all-in"]


def test_unknown_facts_stay_blank():
    """Year of the Dance has no fact we are sure of beyond its year: nothing is guessed."""
    call_command("load_catalog", verbosity=0)
    year_of_the_dance = Title.objects.get(slug="step-up-year-of-the-dance")
    assert year_of_the_dance.release_date is None
    assert year_of_the_dance.runtime_minutes is None
    assert year_of_the_dance.synopsis == ""
    assert year_of_the_dance.box_office_domestic_usd is None
    assert not year_of_the_dance.credits.exists()


def test_loading_twice_adds_nothing(catalog, capsys):
    before = row_counts()
    call_command("load_catalog")
    assert row_counts() == before
    assert "nothing changed" in capsys.readouterr().out


def test_loading_again_keeps_what_staff_edited(catalog):
    Title.objects.filter(slug="step-up").update(tagline="An edit made in the admin")
    call_command("load_catalog", verbosity=0)
    assert Title.objects.get(slug="step-up").tagline == "An edit made in the admin"


def test_overwrite_resets_rows_to_the_file(catalog):
    Title.objects.filter(slug="step-up").update(synopsis="An edit made in the admin")
    call_command("load_catalog", "--overwrite", verbosity=0)
    expected = next(
        t for t in json.loads(CATALOG_FILE.read_text())["titles"] if t["slug"] == "step-up"
    )
    assert Title.objects.get(slug="step-up").synopsis == expected["synopsis"]


def test_a_row_deleted_by_staff_stays_deleted(catalog):
    assert Routine.objects.filter(slug="las-vegas-finale").delete()[0] >= 1
    assert Title.objects.filter(slug="step-up-revolution").delete()[0] >= 1
    call_command("load_catalog", verbosity=0)
    assert not Routine.objects.filter(slug="las-vegas-finale").exists()
    assert not Title.objects.filter(slug="step-up-revolution").exists()


def test_reworded_trivia_is_not_added_again_in_its_old_words(catalog):
    trivia = Trivia.objects.get(text__contains="tWitch")
    trivia.text = 'Stephen "tWitch" Boss (1982–2022) plays Jason.'
    trivia.save()
    call_command("load_catalog", verbosity=0)
    assert list(Trivia.objects.filter(text__contains="tWitch").values_list("text", flat=True)) == [
        trivia.text
    ]


def test_overwrite_recreates_what_staff_deleted(catalog):
    Routine.objects.filter(slug="las-vegas-finale").delete()
    call_command("load_catalog", "--overwrite", verbosity=0)
    finale = Routine.objects.get(slug="las-vegas-finale")
    assert [crew.slug for crew in finale.crews.all()] == ["lmntrix"]


def test_entries_new_to_the_file_are_added_on_the_next_load(catalog, tmp_path):
    data = json.loads(CATALOG_FILE.read_text())
    data["people"].append({"slug": "new-dancer", "name": "New Dancer"})
    all_in = next(t for t in data["titles"] if t["slug"] == "step-up-all-in")
    all_in["trivia"].append({"text": "A fact added to the file later."})
    changed = tmp_path / "catalog.json"
    changed.write_text(json.dumps(data))
    call_command("load_catalog", "--file", str(changed), verbosity=0)
    assert Person.objects.filter(slug="new-dancer").exists()
    assert Trivia.objects.filter(
        title__slug="step-up-all-in", text__startswith="A fact added"
    ).exists()


def test_a_missing_or_broken_file_is_a_clear_error_and_loads_nothing(db, tmp_path):
    with pytest.raises(CommandError, match="cannot read"):
        call_command("load_catalog", "--file", str(tmp_path / "missing.json"))
    broken = tmp_path / "broken.json"
    broken.write_text("{ not json")
    with pytest.raises(CommandError, match="not valid JSON"):
        call_command("load_catalog", "--file", str(broken))
    assert row_counts() == dict.fromkeys(row_counts(), 0)


def test_a_file_naming_an_unknown_person_is_refused_before_anything_is_written(db, tmp_path):
    data = json.loads(CATALOG_FILE.read_text())
    data["titles"][0]["credits"].append({"person": "nobody", "role": "cast", "character": "moose"})
    data["titles"][0]["routines"][0]["crews"] = ["no-such-crew"]
    bad = tmp_path / "catalog.json"
    bad.write_text(json.dumps(data))
    with pytest.raises(CommandError) as error:
        call_command("load_catalog", "--file", str(bad))
    assert "unknown person 'nobody'" in str(error.value)
    assert "unknown crew 'no-such-crew'" in str(error.value)
    assert Title.objects.count() == 0


def test_the_search_names_are_filled_for_everything_loaded(catalog):
    for model in (Title, Person, Character, Crew):
        assert not model.objects.filter(search_name="").exists()


# --- Routine dancers --------------------------------------------------------------------
# Test data of their own (people and characters invented here), so these never state a
# fact about the franchise and stay true whatever dancers the real catalog lists.

DANCER_PEOPLE = [{"slug": f"test-dancer-{n}", "name": f"Test Dancer {n}"} for n in (1, 2, 3)]
DANCER_CHARACTERS = [{"slug": "test-character", "name": "Test Character"}]


def catalog_with_dancers(tmp_path, dancers, *, name="catalog.json"):
    """The real catalog with invented dancers on All In's Las Vegas finale, as a file."""
    data = json.loads(CATALOG_FILE.read_text())
    data["people"] += DANCER_PEOPLE
    data["characters"] += DANCER_CHARACTERS
    all_in = next(t for t in data["titles"] if t["slug"] == "step-up-all-in")
    finale = next(r for r in all_in["routines"] if r["slug"] == "las-vegas-finale")
    finale["dancers"] = dancers
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return path


FINALE_DANCERS = [
    {"person": "test-dancer-1", "character": "test-character"},
    {"person": "test-dancer-2"},
]


def finale_dancers():
    return [
        (dancer.person.slug, dancer.character.slug if dancer.character else None)
        for dancer in RoutineDancer.objects.filter(routine__slug="las-vegas-finale")
    ]


def test_routine_dancers_are_loaded_in_order_with_the_character_they_dance_as(db, tmp_path):
    call_command("load_catalog", "--file", str(catalog_with_dancers(tmp_path, FINALE_DANCERS)))
    assert finale_dancers() == [("test-dancer-1", "test-character"), ("test-dancer-2", None)]


def test_loading_dancers_twice_adds_nothing(db, tmp_path):
    path = str(catalog_with_dancers(tmp_path, FINALE_DANCERS))
    call_command("load_catalog", "--file", path, verbosity=0)
    before = RoutineDancer.objects.count()
    call_command("load_catalog", "--file", path, verbosity=0)
    assert RoutineDancer.objects.count() == before
    assert len(finale_dancers()) == 2


def test_a_dancer_new_to_the_file_joins_a_routine_loaded_before(db, tmp_path):
    call_command("load_catalog", "--file", str(catalog_with_dancers(tmp_path, [])), verbosity=0)
    assert finale_dancers() == []
    grown = catalog_with_dancers(tmp_path, FINALE_DANCERS, name="grown.json")
    call_command("load_catalog", "--file", str(grown), verbosity=0)
    assert finale_dancers() == [("test-dancer-1", "test-character"), ("test-dancer-2", None)]


def test_loading_again_keeps_dancers_as_staff_edited_or_deleted_them(db, tmp_path):
    path = str(catalog_with_dancers(tmp_path, FINALE_DANCERS))
    call_command("load_catalog", "--file", path, verbosity=0)
    RoutineDancer.objects.filter(person__slug="test-dancer-1").update(character=None)
    RoutineDancer.objects.filter(person__slug="test-dancer-2").delete()
    call_command("load_catalog", "--file", path, verbosity=0)
    assert finale_dancers() == [("test-dancer-1", None)]


def test_overwrite_puts_dancers_back_as_the_file_has_them(db, tmp_path):
    path = str(catalog_with_dancers(tmp_path, FINALE_DANCERS))
    call_command("load_catalog", "--file", path, verbosity=0)
    RoutineDancer.objects.filter(person__slug="test-dancer-1").update(character=None)
    RoutineDancer.objects.filter(person__slug="test-dancer-2").delete()
    call_command("load_catalog", "--file", path, "--overwrite", verbosity=0)
    assert finale_dancers() == [("test-dancer-1", "test-character"), ("test-dancer-2", None)]


def test_a_dancer_whose_person_or_character_staff_deleted_is_not_added_back(db, tmp_path):
    path = str(catalog_with_dancers(tmp_path, []))
    call_command("load_catalog", "--file", path, verbosity=0)
    Character.objects.filter(slug="test-character").delete()
    Person.objects.filter(slug="test-dancer-2").delete()
    grown = catalog_with_dancers(tmp_path, FINALE_DANCERS, name="grown.json")
    call_command("load_catalog", "--file", str(grown), verbosity=0)
    # Dancing as a character that is gone would be a different fact: left out, not blank.
    assert finale_dancers() == []


def test_dancers_of_a_routine_staff_deleted_are_not_loaded(db, tmp_path):
    call_command("load_catalog", "--file", str(catalog_with_dancers(tmp_path, [])), verbosity=0)
    Routine.objects.filter(slug="las-vegas-finale").delete()
    grown = catalog_with_dancers(tmp_path, FINALE_DANCERS, name="grown.json")
    call_command("load_catalog", "--file", str(grown), verbosity=0)
    assert not Routine.objects.filter(slug="las-vegas-finale").exists()
    assert finale_dancers() == []


@pytest.mark.parametrize(
    ("dancers", "message"),
    [
        ([{"person": "nobody"}], "names unknown dancer 'nobody'"),
        ([{"person": "test-dancer-1", "character": "no-one"}], "unknown character 'no-one'"),
        ([{"person": "test-dancer-1"}, {"person": "test-dancer-1"}], "'test-dancer-1' twice"),
    ],
)
def test_a_file_with_a_bad_dancer_is_refused_before_anything_is_written(
    db, tmp_path, dancers, message
):
    with pytest.raises(CommandError, match=message):
        call_command("load_catalog", "--file", str(catalog_with_dancers(tmp_path, dancers)))
    assert Title.objects.count() == 0


# --- Spanish texts ----------------------------------------------------------------------

TRANSLATED_TEXTS = [
    (Title, ("tagline", "synopsis")),
    (Person, ("bio",)),
    (Character, ("description",)),
    (Crew, ("description",)),
    (Routine, ("description",)),
    (Trivia, ("text",)),
]


def without_spanish(data):
    """The catalog file as it was before it had Spanish texts."""
    if isinstance(data, dict):
        return {k: without_spanish(v) for k, v in data.items() if not k.endswith("_es")}
    if isinstance(data, list):
        return [without_spanish(item) for item in data]
    return data


def test_every_english_text_has_its_spanish_one_and_every_title_keeps_its_name(catalog):
    for model, fields in TRANSLATED_TEXTS:
        for row in model.objects.values(*(f"{f}_{lang}" for f in fields for lang in ["en", "es"])):
            for field in fields:
                english, spanish = row[f"{field}_en"], row[f"{field}_es"]
                assert bool(english) == bool(spanish), (model.__name__, field, english)
                assert english != spanish
    # No Spanish release title is certain: the original titles are shown in Spanish too.
    assert not Title.objects.filter(name_es__isnull=False).exists()
    all_in = Title.objects.get(slug="step-up-all-in")
    with translation.override("es"):
        assert all_in.name == "Step Up: All In"
        assert all_in.synopsis.startswith("En Los Ángeles, The Mob, el grupo de Sean")
    with translation.override("en"):
        assert all_in.synopsis.startswith("In Los Angeles, Sean's crew The Mob")


def test_a_catalog_loaded_before_the_spanish_texts_gets_them_on_the_next_load(db, tmp_path, capsys):
    english_only = tmp_path / "catalog.json"
    english_only.write_text(json.dumps(without_spanish(json.loads(CATALOG_FILE.read_text()))))
    call_command("load_catalog", "--file", str(english_only), verbosity=0)
    assert not Person.objects.exclude(bio_es=None).exclude(bio_es="").exists()
    before = row_counts()
    call_command("load_catalog")
    assert row_counts() == before  # nothing new but the texts
    assert "added Spanish texts to 7 trivia" in capsys.readouterr().out
    assert Person.objects.get(slug="trish-sie").bio_es == (
        "Directora de los videos musicales virales de OK Go; Step Up: All In fue su primer "
        "largometraje."
    )
    assert Trivia.objects.exclude(text_es="").filter(text_es__isnull=False).count() == 7
    call_command("load_catalog")
    assert "nothing changed" in capsys.readouterr().out


def test_the_loader_writes_english_to_the_english_columns_whatever_the_active_language(db):
    with translation.override("es"):
        call_command("load_catalog", verbosity=0)
        call_command("load_catalog", verbosity=0)  # and finds every trivia item again
    assert Trivia.objects.count() == 7
    trish = Person.objects.get(slug="trish-sie")
    assert trish.bio_en.startswith("Director of the viral OK Go music videos")
    assert trish.bio_es.startswith("Directora de los videos musicales virales de OK Go")
    assert Title.objects.get(slug="step-up").name_en == "Step Up"


def test_a_spanish_text_an_editor_wrote_or_cleared_stays_as_they_left_it(db, tmp_path):
    english_only = tmp_path / "catalog.json"
    english_only.write_text(json.dumps(without_spanish(json.loads(CATALOG_FILE.read_text()))))
    call_command("load_catalog", "--file", str(english_only), verbosity=0)
    # Before the file had Spanish texts, an editor wrote one of their own.
    Person.objects.filter(slug="trish-sie").update(bio_es="Texto de una editora.")
    call_command("load_catalog", verbosity=0)
    assert Person.objects.get(slug="trish-sie").bio_es == "Texto de una editora."
    # After the load, an editor clears one and rewords another: both stay.
    Crew.objects.filter(slug="lmntrix").update(description_es="")
    Title.objects.filter(slug="step-up").update(synopsis_es="Una sinopsis reescrita.")
    call_command("load_catalog", verbosity=0)
    assert Crew.objects.get(slug="lmntrix").description_es == ""
    assert Title.objects.get(slug="step-up").synopsis_es == "Una sinopsis reescrita."
    # --overwrite puts the file's Spanish texts back, as it does the English ones.
    call_command("load_catalog", "--overwrite", verbosity=0)
    assert Crew.objects.get(slug="lmntrix").description_es.startswith("El grupo que Sean y Moose")
    assert Person.objects.get(slug="trish-sie").bio_es.startswith("Directora de los videos")


def test_a_text_new_to_the_file_for_an_entry_loaded_before_waits_for_its_english(catalog, tmp_path):
    """The English text of an entry loaded before is staff's (blank here): the file's new
    English does not replace it, and its Spanish, translating that English, is not loaded
    alone."""
    data = json.loads(CATALOG_FILE.read_text())
    year = next(t for t in data["titles"] if t["slug"] == "step-up-year-of-the-dance")
    assert not year.get("tagline")
    year["tagline"], year["tagline_es"] = "An English tagline.", "Un eslogan en español."
    changed = tmp_path / "catalog.json"
    changed.write_text(json.dumps(data))
    call_command("load_catalog", "--file", str(changed), verbosity=0)
    title = Title.objects.get(slug="step-up-year-of-the-dance")
    assert (title.tagline_en, title.tagline_es) == ("", None)
    call_command("load_catalog", "--file", str(changed), "--overwrite", verbosity=0)
    title.refresh_from_db()
    assert (title.tagline_en, title.tagline_es) == ("An English tagline.", "Un eslogan en español.")


def test_no_spanish_text_is_loaded_beside_an_english_one_an_editor_changed(db, tmp_path):
    english_only = tmp_path / "catalog.json"
    english_only.write_text(json.dumps(without_spanish(json.loads(CATALOG_FILE.read_text()))))
    call_command("load_catalog", "--file", str(english_only), verbosity=0)
    Person.objects.filter(slug="trish-sie").update(bio_en="A bio an editor rewrote.")
    call_command("load_catalog", verbosity=0)
    # The file's Spanish translates the file's English, not the editor's: it would be wrong.
    trish = Person.objects.get(slug="trish-sie")
    assert (trish.bio_en, trish.bio_es) == ("A bio an editor rewrote.", None)
    # The rest got theirs.
    assert Person.objects.get(slug="jon-m-chu").bio_es == (
        "Director de Step Up 2: The Streets y Step Up 3D."
    )
