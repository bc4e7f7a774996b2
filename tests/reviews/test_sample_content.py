from django.core.management import call_command
from django.db.models import Count, Sum

from films.models import Routine, Title
from reviews import services
from reviews.models import Comment, Review, RoutineRating


def test_sample_content_gives_every_title_of_the_catalog_reviews_and_comments(db):
    call_command("load_catalog", verbosity=0)
    call_command("load_sample_content", verbosity=0)

    for title in Title.objects.all():
        assert Review.objects.filter(title=title, author__is_sample=True).exists(), title.name
        assert Comment.objects.filter(review__title=title).exists(), title.name


def test_sample_content_adds_nothing_the_second_time(db):
    call_command("load_catalog", verbosity=0)
    call_command("load_sample_content", verbosity=0)
    counts = Review.objects.count(), Comment.objects.count()

    call_command("load_sample_content", verbosity=0)

    assert (Review.objects.count(), Comment.objects.count()) == counts


def routine_counts():
    return list(
        Routine.objects.order_by("pk").values_list(
            "pk", "rating_count", "rating_sum", "best_routine_count"
        )
    )


def assert_routine_counts_match_a_recount():
    for routine in Routine.objects.all():
        ratings = RoutineRating.objects.filter(routine=routine).aggregate(
            count=Count("id"), sum=Sum("rating", default=0)
        )
        assert (routine.rating_count, routine.rating_sum) == (ratings["count"], ratings["sum"])
        assert routine.best_routine_count == services.best_routine_count_recount(routine)


def test_sample_members_rate_every_routine_finales_highest_and_not_all_alike(db):
    call_command("load_catalog", verbosity=0)
    call_command("load_sample_content", verbosity=0)

    assert not Routine.objects.filter(rating_count=0).exists()
    assert_routine_counts_match_a_recount()
    finales, others = [], []
    for title in Title.objects.prefetch_related("routines"):
        routines = list(title.routines.all())
        if len(routines) > 1:  # a finale among others
            finales.append(routines[-1].rating_average)
            others += [routine.rating_average for routine in routines[:-1]]
    assert others, "the catalog has titles with more than one routine"
    assert min(finales) > max(others)
    assert len(set(RoutineRating.objects.values_list("rating", flat=True))) >= 4
    assert len({routine.rating_count for routine in Routine.objects.all()}) > 1


def test_some_sample_reviews_name_their_titles_best_routine(db):
    call_command("load_catalog", verbosity=0)
    call_command("load_sample_content", verbosity=0)

    naming = Review.objects.filter(author__is_sample=True, best_routine__isnull=False)
    assert 0 < naming.count() < Review.objects.filter(author__is_sample=True).count()
    assert all(r.best_routine.title_id == r.title_id for r in naming.select_related("best_routine"))
    assert Routine.objects.filter(best_routine_count__gt=0).exists()
    assert_routine_counts_match_a_recount()


def test_sample_routine_ratings_and_best_routines_are_added_once(db):
    call_command("load_catalog", verbosity=0)
    call_command("load_sample_content", verbosity=0)
    before = routine_counts(), RoutineRating.objects.count()

    call_command("load_sample_content", verbosity=0)

    assert (routine_counts(), RoutineRating.objects.count()) == before


def test_routines_new_to_the_catalog_get_sample_ratings_on_the_next_run(db):
    call_command("load_catalog", verbosity=0)
    call_command("load_sample_content", verbosity=0)
    title = Title.objects.get(slug="step-up-all-in")
    added = Routine.objects.create(title=title, name="A later routine", slug="a-later-routine")

    call_command("load_sample_content", verbosity=0)

    added.refresh_from_db()
    assert added.rating_count > 0
    assert_routine_counts_match_a_recount()
