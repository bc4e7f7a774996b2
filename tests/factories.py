import factory
from django.contrib.auth import get_user_model

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


class TitleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Title

    name = factory.Sequence(lambda n: f"Test Title {n}")
    slug = factory.Sequence(lambda n: f"test-title-{n}")
    franchise_position = factory.Sequence(lambda n: 100 + n)
    release_year = 2014
    kind = Title.Kind.FILM


class PersonFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Person

    name = factory.Sequence(lambda n: f"Dancer {n}")
    slug = factory.Sequence(lambda n: f"dancer-{n}")


class CharacterFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Character

    name = factory.Sequence(lambda n: f"Character {n}")
    slug = factory.Sequence(lambda n: f"character-{n}")


class CastCreditFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Credit

    title = factory.SubFactory(TitleFactory)
    person = factory.SubFactory(PersonFactory)
    character = factory.SubFactory(CharacterFactory)
    role = Credit.Role.CAST


class CrewCreditFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Credit

    title = factory.SubFactory(TitleFactory)
    person = factory.SubFactory(PersonFactory)
    role = Credit.Role.DIRECTOR
    character = None


class CrewFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Crew

    name = factory.Sequence(lambda n: f"Crew {n}")
    slug = factory.Sequence(lambda n: f"crew-{n}")


class CrewMembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CrewMembership

    crew = factory.SubFactory(CrewFactory)
    title = factory.SubFactory(TitleFactory)
    person = factory.SubFactory(PersonFactory)


class RoutineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Routine
        skip_postgeneration_save = True

    title = factory.SubFactory(TitleFactory)
    name = factory.Sequence(lambda n: f"Routine {n}")
    slug = factory.Sequence(lambda n: f"routine-{n}")

    @factory.post_generation
    def crews(self, create, extracted, **kwargs):
        if create and extracted:
            self.crews.set(extracted)

    @factory.post_generation
    def choreographers(self, create, extracted, **kwargs):
        if create and extracted:
            self.choreographers.set(extracted)


class RoutineDancerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RoutineDancer

    routine = factory.SubFactory(RoutineFactory)
    person = factory.SubFactory(PersonFactory)
    character = None


class TriviaFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Trivia

    title = factory.SubFactory(TitleFactory)
    text = factory.Sequence(lambda n: f"A fact worth knowing, number {n}.")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ["username"]

    username = factory.Sequence(lambda n: f"fan{n}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.com")
    password = factory.django.Password("a-long-enough-password")


class StaffUserFactory(UserFactory):
    is_staff = True
    is_superuser = True


def review(
    *,
    title=None,
    author=None,
    rating=7,
    headline="",
    body="",
    contains_spoilers=False,
    best_routine=None,
    language=None,
):
    """A review written the way the site writes them, so the title's aggregates follow."""
    from reviews.services import review_submit

    created, _ = review_submit(
        title=title or (best_routine.title if best_routine else TitleFactory()),
        author=author or UserFactory(),
        rating=rating,
        headline=headline,
        body=body,
        contains_spoilers=contains_spoilers,
        best_routine=best_routine,
        language=language,
    )
    return created


def routine_rating(*, routine=None, member=None, rating=7):
    """A routine rating made the way the site makes them, so the routine's counts follow."""
    from reviews.services import routine_rate

    created, _ = routine_rate(
        routine=routine or RoutineFactory(), member=member or UserFactory(), rating=rating
    )
    return created
