"""Rating a routine on its page: a plain form post with the title's star input."""

import pytest
from django.test import Client
from django.urls import reverse

from accounts import services as account_services
from films.models import Routine
from reviews.models import RoutineRating
from tests.factories import RoutineFactory, TitleFactory, UserFactory, routine_rating
from tests.html import assert_valid_accessible_page, element, element_text, page_text, text_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def routine():
    title = TitleFactory(name="Step Up: All In", slug="step-up-all-in")
    return RoutineFactory(title=title, name="The Las Vegas finale", slug="las-vegas-finale")


@pytest.fixture
def member(client):
    user = UserFactory(username="moosefan")
    client.force_login(user)
    return user


def rate_url(routine):
    return reverse("reviews:routine_rate", kwargs={"slug": routine.slug})


def remove_url(routine):
    return reverse("reviews:routine_rating_remove", kwargs={"slug": routine.slug})


def stored(routine):
    return Routine.objects.values_list("rating_count", "rating_sum").get(pk=routine.pk)


def test_a_member_rates_a_routine_and_is_sent_back_to_its_stars_with_a_message(
    client, member, routine
):
    response = client.post(rate_url(routine), {"rating": "9"})
    assert response.status_code == 302
    assert response["Location"] == "/routines/las-vegas-finale/#your-rating"
    assert RoutineRating.objects.get(member=member).rating == 9
    assert stored(routine) == (1, 9)
    page = client.get(response["Location"])
    assert "Your rating of The Las Vegas finale is saved." in page_text(page)
    assert element_text(page, "routine-rating-average") == "4.5"
    assert "You gave it 4½ stars." in element_text(page, "your-rating")


def test_rating_again_changes_the_rating_and_removing_takes_it_back(client, member, routine):
    client.post(rate_url(routine), {"rating": "9"})
    response = client.post(rate_url(routine), {"rating": "4"}, follow=True)
    assert "Your rating of The Las Vegas finale is changed." in page_text(response)
    assert stored(routine) == (1, 4)
    assert RoutineRating.objects.count() == 1
    response = client.post(remove_url(routine), follow=True)
    assert response.redirect_chain == [("/routines/las-vegas-finale/#your-rating", 302)]
    assert "Your rating is removed." in page_text(response)
    assert "No one has rated The Las Vegas finale yet." in page_text(response)
    assert stored(routine) == (0, 0)
    again = client.post(remove_url(routine), follow=True)
    assert "You had not rated this routine." in page_text(again)


@pytest.mark.parametrize("rating", ["0", "11", "", "3.5", "-1", "99999999999999999999", "½"])
def test_a_rating_off_the_scale_gets_the_form_again_with_a_clear_message_and_stores_nothing(
    client, member, routine, rating
):
    routine_rating(routine=routine, rating=6)
    response = client.post(rate_url(routine), {"rating": rating})
    assert response.status_code == 400
    html = response.content.decode()
    assert_valid_accessible_page(html)
    assert "Choose a rating from half a star to five stars." in html
    assert "Your rating was not saved" in page_text(response)
    assert element(response, "id_rating_errors") is not None  # the star input's own message
    assert not RoutineRating.objects.filter(member=member).exists()
    assert stored(routine) == (1, 6)


def test_no_rating_chosen_or_a_nul_byte_is_refused_and_stores_nothing(client, member, routine):
    assert client.post(rate_url(routine)).status_code == 400
    # Refused before the view (core.request_guards), on the site's 400 page.
    assert client.post(rate_url(routine), {"rating": "8\x00"}).status_code == 400
    assert not RoutineRating.objects.exists()


def test_signing_in_is_needed_to_rate_and_brings_the_visitor_back_to_the_stars(client, routine):
    response = client.post(rate_url(routine), {"rating": "8"})
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/routines/las-vegas-finale/rating/"
    assert client.post(remove_url(routine)).status_code == 302
    assert not RoutineRating.objects.exists()
    client.force_login(UserFactory())
    # Where sign-in returns them (a GET): back to the routine's stars, nothing stored.
    assert client.get(rate_url(routine))["Location"] == "/routines/las-vegas-finale/#your-rating"
    assert client.get(remove_url(routine))["Location"] == "/routines/las-vegas-finale/#your-rating"
    assert not RoutineRating.objects.exists()


def test_a_suspended_member_cannot_rate(client, member, routine):
    account_services.account_suspend(member=member, moderator=None, reason="Spam")
    response = client.post(rate_url(routine), {"rating": "8"})
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    assert not RoutineRating.objects.exists()


def test_an_unknown_routine_is_a_404_and_stores_nothing(client, member):
    assert client.post("/routines/no-such-routine/rating/", {"rating": "8"}).status_code == 404
    assert client.post("/routines/no-such-routine/rating/remove/").status_code == 404
    assert not RoutineRating.objects.exists()


def test_a_rating_without_a_csrf_token_is_refused(member, routine):
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(member)
    assert strict.post(rate_url(routine), {"rating": "8"}).status_code == 403
    assert not RoutineRating.objects.exists()


def test_ratings_are_limited_like_votes_with_a_429_page(settings, routine):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "vote": "2/h"}
    client = Client(REMOTE_ADDR="198.51.100.31")
    client.force_login(UserFactory())
    assert [client.post(rate_url(routine), {"rating": "8"}).status_code for _ in range(2)] == [
        302,
        302,
    ]
    refused = client.post(rate_url(routine), {"rating": "2"})
    assert refused.status_code == 429
    assert RoutineRating.objects.get().rating == 8
    assert client.get(routine.get_absolute_url()).status_code == 200


def test_the_routine_page_uses_the_same_star_input_as_a_review(client, member, routine):
    page = client.get(routine.get_absolute_url())
    form = element(page, "your-rating").find("form")
    assert form.get("action") == rate_url(routine) and form.get("method") == "post"
    fieldset = form.find("fieldset")
    assert "star-input" in fieldset.get("class")
    assert text_of(fieldset.find("legend")) == "Your rating"
    radios = [i for i in fieldset.iter("input") if i.get("type") == "radio"]
    assert [r.get("value") for r in radios] == [str(value) for value in range(1, 11)]
    labels = [text_of(label) for label in fieldset.iter("label")]
    assert labels[0] == "½ star" and labels[6] == "3½ stars" and labels[9] == "5 stars"
    assert text_of(form.find(".//button")) == "Rate"
