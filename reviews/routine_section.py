"""The members' part of a routine's page: its rating form (or how to sign in to rate) and
the reviews that name it their title's best routine."""

from .forms import RoutineRatingForm
from .selectors import member_routine_rating, reviews_naming_best_routine

# The newest few on the routine's page; its stored best_routine_count says how many in all.
BEST_ROUTINE_REVIEWS_SHOWN = 5


def routine_page_context(request, routine):
    own_rating = member_routine_rating(request.user, routine)
    form = None
    if request.user.is_authenticated:
        form = RoutineRatingForm(initial={"rating": own_rating})
    reviews = list(reviews_naming_best_routine(routine)[:BEST_ROUTINE_REVIEWS_SHOWN])
    for review in reviews:
        review.best_routine, review.title = routine, routine.title  # known: no query for them
    return {
        "own_rating": own_rating,
        "rating_form": form,
        "best_routine_reviews": reviews,
    }
