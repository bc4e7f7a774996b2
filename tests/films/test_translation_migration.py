"""The migration that made the catalog's texts bilingual (films 0005) on a database already
full of them, as every site that ran `make run` before it has: the texts become English."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from films.models import Character, Crew, Person, Routine, Title, Trivia

BEFORE = ("films", "0004_routine_ratings_dancers_global_slug")
AFTER = ("films", "0005_catalog_texts_in_english_and_spanish")


def migrate(target):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate([target])
    return executor.loader.project_state([target]).apps


@pytest.mark.django_db(transaction=True)
def test_the_texts_written_before_become_the_english_ones():
    old = migrate(BEFORE)
    try:
        title = old.get_model("films", "Title").objects.create(
            name="Step Up: All In",
            slug="step-up-all-in",
            franchise_position=5,
            release_year=2014,
            tagline="All in.",
            synopsis="Sean teams up with Moose.",
        )
        old.get_model("films", "Person").objects.create(
            name="Trish Sie", slug="trish-sie", bio="A director."
        )
        old.get_model("films", "Character").objects.create(
            name="Moose", slug="moose", description="A fan favourite."
        )
        old.get_model("films", "Crew").objects.create(
            name="LMNTRIX", slug="lmntrix", description="A crew."
        )
        old.get_model("films", "Routine").objects.create(
            title_id=title.pk, name="Finale", slug="finale", description="The last battle."
        )
        old.get_model("films", "Trivia").objects.create(title_id=title.pk, text="A fact.")
    finally:
        migrate(AFTER)
        # The rest of the migrations, whatever came after: the database as the suite has it.
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())

    assert Title.objects.values(
        "name_en", "name_es", "tagline_en", "synopsis_en", "synopsis_es"
    ).get() == {
        "name_en": "Step Up: All In",
        "name_es": None,
        "tagline_en": "All in.",
        "synopsis_en": "Sean teams up with Moose.",
        "synopsis_es": None,
    }
    assert Person.objects.values_list("bio_en", "bio_es").get() == ("A director.", None)
    assert Character.objects.values_list("description_en", flat=True).get() == "A fan favourite."
    assert Crew.objects.values_list("description_en", flat=True).get() == "A crew."
    assert Routine.objects.values_list("description_en", flat=True).get() == "The last battle."
    assert Trivia.objects.values_list("text_en", "text_es").get() == ("A fact.", None)
