from datetime import date

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from films.models import Credit, Routine, Title
from tests.factories import (
    CastCreditFactory,
    CharacterFactory,
    CrewCreditFactory,
    CrewFactory,
    CrewMembershipFactory,
    PersonFactory,
    RoutineFactory,
    TitleFactory,
    TriviaFactory,
)

pytestmark = pytest.mark.django_db


def assert_rejected_by_database(create):
    with pytest.raises(IntegrityError), transaction.atomic():
        create()


def test_a_film_cannot_have_seasons():
    assert_rejected_by_database(lambda: TitleFactory(kind=Title.Kind.FILM, seasons=2))


def test_a_series_can_have_seasons():
    TitleFactory(kind=Title.Kind.SERIES, seasons=3)
    assert Title.objects.filter(kind=Title.Kind.SERIES, seasons=3).count() == 1


def test_a_broken_rule_reads_as_a_sentence_for_staff():
    title = TitleFactory.build(kind=Title.Kind.FILM, seasons=2)
    with pytest.raises(ValidationError) as error:
        title.full_clean()
    assert "Only a series has seasons" in str(error.value)


def test_a_release_date_outside_the_year_is_refused_with_a_message():
    title = TitleFactory.build(release_year=2014, release_date=date(2015, 1, 1))
    with pytest.raises(ValidationError) as error:
        title.full_clean()
    assert "must fall in the year" in str(error.value)
    TitleFactory.build(release_year=2014, release_date=date(2014, 8, 8)).full_clean()


def test_runtime_must_be_positive():
    assert_rejected_by_database(lambda: TitleFactory(runtime_minutes=0))


def test_release_year_must_be_plausible():
    assert_rejected_by_database(lambda: TitleFactory(release_year=1850))


def test_kind_must_be_film_or_series():
    assert_rejected_by_database(lambda: TitleFactory(kind="musical"))


def test_franchise_position_is_unique():
    TitleFactory(franchise_position=1)
    assert_rejected_by_database(lambda: TitleFactory(franchise_position=1))


def test_title_slug_is_unique():
    TitleFactory(slug="step-up")
    assert_rejected_by_database(lambda: TitleFactory(slug="step-up"))


def test_a_cast_credit_needs_a_character():
    assert_rejected_by_database(lambda: CastCreditFactory(character=None))


def test_a_crew_credit_cannot_name_a_character():
    assert_rejected_by_database(lambda: CrewCreditFactory(character=CharacterFactory()))


def test_the_same_actor_cannot_play_the_same_character_twice_in_a_title():
    credit = CastCreditFactory()
    assert_rejected_by_database(
        lambda: CastCreditFactory(
            title=credit.title, person=credit.person, character=credit.character
        )
    )


def test_two_actors_can_share_one_character():
    """The Santiago Twins are one act played by two brothers."""
    first = CastCreditFactory()
    CastCreditFactory(title=first.title, character=first.character)
    assert Credit.objects.filter(title=first.title, character=first.character).count() == 2


def test_the_same_job_cannot_be_credited_twice():
    credit = CrewCreditFactory(role=Credit.Role.DIRECTOR)
    assert_rejected_by_database(
        lambda: CrewCreditFactory(title=credit.title, person=credit.person, role=credit.role)
    )


def test_one_person_can_hold_several_jobs_on_a_title():
    director = CrewCreditFactory(role=Credit.Role.DIRECTOR)
    CrewCreditFactory(title=director.title, person=director.person, role=Credit.Role.WRITER)
    roles = Credit.objects.filter(title=director.title, person=director.person).values_list(
        "role", flat=True
    )
    assert sorted(roles) == sorted([Credit.Role.DIRECTOR, Credit.Role.WRITER])


def test_a_person_is_in_a_crew_once_per_title():
    membership = CrewMembershipFactory()
    assert_rejected_by_database(
        lambda: CrewMembershipFactory(
            crew=membership.crew, title=membership.title, person=membership.person
        )
    )


def test_the_same_person_can_be_in_a_crew_in_several_titles():
    membership = CrewMembershipFactory()
    CrewMembershipFactory(crew=membership.crew, person=membership.person)
    assert membership.crew.memberships.filter(person=membership.person).count() == 2


def test_routine_slugs_are_unique_across_the_franchise():
    # A routine's page is /routines/<slug>/, whatever its title.
    routine = RoutineFactory(slug="finale")
    assert_rejected_by_database(lambda: RoutineFactory(slug="finale"))
    assert_rejected_by_database(lambda: RoutineFactory(title=routine.title, slug="finale"))
    assert Routine.objects.filter(slug="finale").count() == 1


def test_trivia_cannot_be_empty():
    assert_rejected_by_database(lambda: TriviaFactory(text=""))


def test_search_name_folds_case_and_accents_on_save():
    person = PersonFactory(name="Zoë SALDAÑA")
    assert person.search_name == "zoesaldana"
    person.name = "Renée"
    person.save(update_fields=["name"])
    person.refresh_from_db()
    assert person.search_name == "renee"


def test_every_model_names_itself_and_links_to_its_page():
    title = TitleFactory(name="Step Up 3D", slug="step-up-3d")
    credit = CastCreditFactory(title=title, person__name="Adam Sevani", character__name="Moose")
    crew = CrewFactory(name="House of Pirates", slug="house-of-pirates")
    routine = RoutineFactory(title=title, name="World Jam finale", slug="world-jam-finale")
    membership = CrewMembershipFactory(crew=crew, title=title, person=credit.person)
    trivia = TriviaFactory(title=title, text="x" * 80)

    assert str(title) == "Step Up 3D"
    assert title.get_absolute_url() == "/titles/step-up-3d/"
    assert str(credit) == "Adam Sevani as Moose in Step Up 3D"
    assert credit.person.get_absolute_url().startswith("/people/")
    assert credit.character.get_absolute_url().startswith("/characters/")
    assert crew.get_absolute_url() == "/crews/house-of-pirates/"
    assert str(routine) == "World Jam finale (Step Up 3D)"
    assert routine.get_absolute_url() == "/routines/world-jam-finale/"
    assert str(membership) == "Adam Sevani in House of Pirates (Step Up 3D)"
    assert len(str(trivia)) == 60
    director = CrewCreditFactory(title=title, person__name="Jon M. Chu")
    assert str(director) == "Jon M. Chu (Director, Step Up 3D)"


def test_a_title_without_a_poster_uses_the_generated_one():
    title = TitleFactory(slug="step-up-all-in")
    assert title.poster_url == "/titles/step-up-all-in/poster.png"
    assert title.poster_thumbnail_url == "/titles/step-up-all-in/poster.png"


def test_search_name_holds_names_that_grow_when_folded():
    """NFKD splits some characters in several: the folded form may be longer than the name."""
    person = PersonFactory(name="ﬃ" * 200)
    person.refresh_from_db()
    assert person.search_name == "ffi" * 200  # 600 characters from a 200-character name
