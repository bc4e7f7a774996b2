import csv
import io
import json

import pytest
from django.core import mail
from django.urls import reverse

from accounts import services as account_services
from accounts.models import User
from films.models import Title
from reviews import services
from reviews.models import Review
from tests.factories import (
    RoutineFactory,
    StaffUserFactory,
    TitleFactory,
    UserFactory,
    review,
    routine_rating,
)
from tests.html import (
    assert_valid_accessible_page,
    element,
    element_text,
    elements_with_class,
    text_of,
)

pytestmark = pytest.mark.django_db

GOOD_PASSWORD = "battle-in-vegas-2014"


def sign_up(client, next_url="", **overrides):
    data = {
        "username": "newfan",
        "email": "newfan@example.org",
        "password1": GOOD_PASSWORD,
        "password2": GOOD_PASSWORD,
        "next": next_url,
    } | overrides
    return client.post(reverse("accounts:signup"), data)


def test_sign_up_then_the_emailed_link_signs_the_member_in_and_returns_to_the_page(
    client, django_capture_on_commit_callbacks, run_queued_tasks
):
    page = client.get(reverse("accounts:signup"), {"next": "/titles/step-up/"})
    assert_valid_accessible_page(page.content.decode())
    with django_capture_on_commit_callbacks(execute=True):
        response = sign_up(client, next_url="/titles/step-up/")
    assert response.status_code == 302 and response["Location"] == reverse("accounts:signup_done")
    assert "_auth_user_id" not in client.session
    run_queued_tasks()
    link = next(line for line in mail.outbox[0].body.splitlines() if "/signup/confirm/" in line)
    response = client.post(link.split("testserver", 1)[1], {"password": GOOD_PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/titles/step-up/"
    user = User.objects.get(username="newfan")
    assert client.session["_auth_user_id"] == str(user.pk)
    assert user.email_confirmed and not user.is_sample


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"password1": "short", "password2": "short"}, "at least 12 characters"),
        ({"password1": "password1234", "password2": "password1234"}, "too common"),
        ({"password2": "something-else-entirely"}, "didn’t match"),
        ({"email": "not-an-email"}, "Enter a valid email address."),
        ({"username": ""}, "This field is required."),
    ],
)
def test_sign_up_explains_what_is_wrong(client, overrides, message):
    response = sign_up(client, **overrides)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not User.objects.exists()


def test_an_email_address_belongs_to_one_account_whatever_its_case(client):
    UserFactory(email="NewFan@Example.org")
    response = sign_up(client, email="newfan@example.org")
    assert response["Location"] == reverse("accounts:signup_done")  # as for a free address
    # (The attempt holds its username with a placeholder that has no address.)
    assert User.objects.filter(email__iexact="newfan@example.org").count() == 1


def test_sign_in_returns_to_the_page_and_sign_out_is_a_post(client):
    UserFactory(username="moosefan", password=GOOD_PASSWORD)
    login_page = client.get(reverse("login"), {"next": "/titles/step-up-3d/"})
    assert_valid_accessible_page(login_page.content.decode())
    response = client.post(
        reverse("login"),
        {"username": "moosefan", "password": GOOD_PASSWORD, "next": "/titles/step-up-3d/"},
    )
    assert response["Location"] == "/titles/step-up-3d/"
    assert client.get(reverse("logout")).status_code == 405
    assert client.post(reverse("logout")).status_code == 302
    assert "_auth_user_id" not in client.session


def test_a_wrong_password_is_a_clear_message(client):
    UserFactory(username="moosefan", password=GOOD_PASSWORD)
    response = client.post(reverse("login"), {"username": "moosefan", "password": "nope"})
    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_password_change_and_reset_by_email(
    client, django_capture_on_commit_callbacks, run_queued_tasks
):
    user = UserFactory(username="moosefan", email="moose@example.org", password=GOOD_PASSWORD)
    client.force_login(user)
    response = client.post(
        reverse("password_change"),
        {
            "old_password": GOOD_PASSWORD,
            "new_password1": "a-brand-new-password-1",
            "new_password2": "a-brand-new-password-1",
        },
    )
    assert response["Location"] == reverse("password_change_done")
    client.post(reverse("logout"))

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("password_reset"), {"email": "moose@example.org"})
    assert response["Location"] == reverse("password_reset_done")
    run_queued_tasks()
    assert len(mail.outbox) == 1
    assert "Reset your Step Up Community password" in mail.outbox[0].subject
    link = next(line for line in mail.outbox[0].body.splitlines() if "/accounts/reset/" in line)
    path = link.split("testserver", 1)[1]
    form_page = client.get(path, follow=True)
    assert "Choose a new password" in form_page.content.decode()
    client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": "reset-password-works-1", "new_password2": "reset-password-works-1"},
    )
    user.refresh_from_db()
    assert user.check_password("reset-password-works-1")


def test_reset_for_an_unknown_email_looks_the_same_and_sends_nothing(
    client, django_capture_on_commit_callbacks, run_queued_tasks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("password_reset"), {"email": "nobody@example.org"})
    assert response["Location"] == reverse("password_reset_done")
    run_queued_tasks()
    assert mail.outbox == []


def test_profile_shows_reviews_count_average_distribution_and_join_date(client):
    member = UserFactory(username="krumpqueen")
    for rating in (10, 10, 4):
        review(author=member, rating=rating, body="words")
    html = client.get(member.get_absolute_url()).content.decode()
    assert element_text(html, "profile-stats") == ("3 reviews · 3 ratings · average 4.0 out of 5")
    assert "Member since" in element_text(html, "main")
    assert "Ratings by krumpqueen and by the whole community, by stars" in html
    assert '<td class="text-end">2</td>' in html
    assert_valid_accessible_page(html)
    assert client.get(reverse("accounts:profile", kwargs={"username": "nobody"})).status_code == 404


@pytest.mark.parametrize("reader", ["visitor", "member", "author"])
def test_a_rating_without_text_is_counted_and_shown_as_a_rating_not_a_review(client, reader):
    member = UserFactory(username="krumpqueen")
    written = review(author=member, rating=8, body="The finale!")
    review(author=member, rating=6, headline="Fun", body="Good crews")
    rated = review(author=member, rating=3, title=TitleFactory(name="Step Up 3D"))
    if reader != "visitor":
        client.force_login(member if reader == "author" else UserFactory())
    response = client.get(member.get_absolute_url())
    assert element_text(response, "profile-stats") == (
        "2 reviews · 3 ratings · average 2.8 out of 5"
    )
    cards = elements_with_class(response, "review-card")
    assert sorted(card.get("id") for card in cards) == sorted(
        f"review-{pk}" for pk in Review.objects.exclude(pk=rated.pk).values_list("pk", flat=True)
    )
    entry = element(response, f"rating-{rated.pk}")
    assert entry.tag != "article" and "review-card" not in entry.get("class")
    assert [link.text for link in entry.iter("a")][:1] == ["Step Up 3D"]
    assert entry.find(".//time") is not None
    assert [star.get("aria-label") for star in entry.iter("span") if star.get("role")] == [
        "1.5 out of 5 stars"
    ]
    # A rating has nothing to vote on, report or comment on.
    for word in ("Helpful", "Report", "comment"):
        assert word not in text_of(entry)
    if reader == "member":  # what the entry lacks, a review by someone else has
        assert "Helpful" in element_text(response, f"review-{written.pk}")
    assert_valid_accessible_page(response.content.decode())


def test_sample_accounts_say_so_on_their_profile(client):
    sample = UserFactory(username="sample-fan", is_sample=True)
    html = client.get(sample.get_absolute_url()).content.decode()
    assert "This is a sample account" in html
    real = UserFactory(username="real-fan")
    assert "This is a sample account" not in client.get(real.get_absolute_url()).content.decode()


def test_a_member_downloads_their_reviews_as_csv_and_json(client):
    member = UserFactory(username="krumpqueen")
    title = TitleFactory(name="Step Up: All In")
    review(title=title, author=member, rating=9, headline="Vegas", body="Line one\nLine two")
    review(rating=2, body="Someone else's")
    client.force_login(member)
    response = client.get(reverse("accounts:export_csv"))
    assert response["Content-Disposition"] == 'attachment; filename="stepup-reviews-krumpqueen.csv"'
    assert response.content.startswith("\ufeff".encode())  # so spreadsheets read UTF-8
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert len(rows) == 1
    assert rows[0]["title"] == "Step Up: All In"
    assert rows[0]["rating_stars"] == "4.5"
    assert rows[0]["review"] == "Line one\nLine two"
    data = json.loads(client.get(reverse("accounts:export_json")).content)
    assert data["username"] == "krumpqueen"
    assert [r["headline"] for r in data["reviews"]] == ["Vegas"]
    client.post(reverse("logout"))
    assert client.get(reverse("accounts:export_csv")).status_code == 302


def test_deleting_an_account_needs_the_password_and_takes_everything_with_it(client):
    title = TitleFactory()
    member = UserFactory(password=GOOD_PASSWORD)
    other = review(title=title, rating=9, body="Great")
    review(title=title, author=member, rating=1, body="Awful")
    services.helpful_vote_toggle(review=other, voter=member)
    services.comment_create(review=other, author=member, body="Hmm")
    client.force_login(member)

    wrong = client.post(reverse("accounts:delete"), {"password": "not-it"})
    assert wrong.status_code == 400
    assert "That is not your password." in wrong.content.decode()
    assert User.objects.filter(pk=member.pk).exists()

    response = client.post(reverse("accounts:delete"), {"password": GOOD_PASSWORD})
    assert response.status_code == 302
    assert not User.objects.filter(pk=member.pk).exists()
    assert "_auth_user_id" not in client.session
    other.refresh_from_db()
    assert (other.helpful_count, other.comment_count) == (0, 0)
    title.refresh_from_db()
    assert (title.rating_count, title.rating_sum) == (1, 9)
    assert services.title_aggregates_recount(title)["rating_count"] == 1


def test_staff_deleting_a_member_in_the_admin_keeps_the_counts_right(client):
    title = TitleFactory()
    member = UserFactory()
    review(title=title, author=member, rating=4)
    client.force_login(StaffUserFactory())
    response = client.post(reverse("admin:accounts_user_delete", args=[member.pk]), {"post": "yes"})
    assert response.status_code == 302
    assert not Review.objects.exists()
    assert Title.objects.get(pk=title.pk).rating_count == 0


def stored_and_recounted_ratings(routine):
    from django.db.models import Count, Sum

    from films.models import Routine
    from reviews.models import RoutineRating

    stored = Routine.objects.values_list("rating_count", "rating_sum").get(pk=routine.pk)
    recount = RoutineRating.objects.filter(routine=routine).aggregate(
        count=Count("id"), sum=Sum("rating", default=0)
    )
    return stored, (recount["count"], recount["sum"])


def test_deleting_an_account_takes_its_routine_ratings_out_of_the_routines_counts(client):
    from reviews.models import RoutineRating

    member = UserFactory(password=GOOD_PASSWORD)
    audition, finale = RoutineFactory(), RoutineFactory()
    routine_rating(routine=audition, member=member, rating=3)
    routine_rating(routine=finale, member=member, rating=10)
    routine_rating(routine=finale, rating=8)
    client.force_login(member)
    response = client.post(reverse("accounts:delete"), {"password": GOOD_PASSWORD})
    assert response.status_code == 302
    assert not User.objects.filter(pk=member.pk).exists()
    assert not RoutineRating.objects.filter(member_id=member.pk).exists()
    assert stored_and_recounted_ratings(audition) == ((0, 0), (0, 0))
    assert stored_and_recounted_ratings(finale) == ((1, 8), (1, 8))


def test_staff_deleting_a_member_who_rated_routines_in_the_admin_keeps_the_counts_right(client):
    member = UserFactory()
    finale = RoutineFactory()
    routine_rating(routine=finale, member=member, rating=6)
    client.force_login(StaffUserFactory())
    response = client.post(reverse("admin:accounts_user_delete", args=[member.pk]), {"post": "yes"})
    assert response.status_code == 302
    assert not User.objects.filter(pk=member.pk).exists()
    assert stored_and_recounted_ratings(finale) == ((0, 0), (0, 0))


def test_sample_usernames_are_kept_for_the_sample_accounts(client):
    response = sign_up(client, username="Sample-impostor")
    assert response.status_code == 400
    assert "kept for the site" in response.content.decode()


def test_sample_content_never_writes_in_a_real_members_name(capsys):
    from django.core.management import call_command

    real = UserFactory(username="sample-krumpqueen")  # from before the prefix was reserved
    TitleFactory()
    call_command("load_sample_content")
    assert not Review.objects.filter(author=real).exists()
    assert "skipping sample-krumpqueen" in capsys.readouterr().err
    before = Review.objects.count()
    call_command("load_sample_content", verbosity=0)
    assert Review.objects.count() == before


def test_export_is_safe_for_spreadsheets_and_names_the_file_in_any_script(client):
    member = UserFactory(username="zoë")
    review(author=member, rating=5, headline="=HYPERLINK(1)", body="=HYPERLINK(1)")
    client.force_login(member)
    response = client.get(reverse("accounts:export_csv"))
    assert "filename*=utf-8''stepup-reviews-zo%C3%AB.csv" in response["Content-Disposition"]
    row = next(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert row["review"] == "'=HYPERLINK(1)" and row["headline"] == "'=HYPERLINK(1)"
    assert row["url"].startswith("http://testserver/reviews/")


def test_a_member_cannot_be_deleted_around_the_service():
    from django.db.models import ProtectedError

    member = UserFactory()
    review(author=member, rating=4)
    with pytest.raises(ProtectedError):
        member.delete()


def test_sign_in_and_sign_up_links_on_account_pages_keep_the_original_destination(client):
    html = client.get(reverse("login"), {"next": "/titles/step-up/"}).content.decode()
    assert 'href="/accounts/signup/?next=/titles/step-up/"' in html
    html = client.get("/titles/").content.decode()
    assert 'href="/accounts/login/?next=/titles/"' in html


def test_a_signed_in_member_asking_to_sign_in_goes_on(client):
    client.force_login(UserFactory())
    response = client.get(reverse("login"), {"next": "/titles/"})
    assert response["Location"] == "/titles/"


def test_usernames_are_kept_short_enough_to_show_everywhere(client):
    response = sign_up(client, username="x" * 31)
    assert response.status_code == 400
    assert "at most 30 characters" in response.content.decode()
    assert not User.objects.exists()
    response = sign_up(client, username="x" * 30)
    assert response.status_code == 302
    assert User.objects.get().username == "x" * 30


# --- Usernames -------------------------------------------------------------------------


@pytest.mark.parametrize("taken", ["bob", "BOB", "Bob"])
def test_sign_up_with_a_taken_username_in_any_case_says_so(client, taken):
    UserFactory(username="bob")
    response = sign_up(client, username=taken)
    assert response.status_code == 400
    assert "A user with that username already exists." in response.content.decode()
    assert User.objects.count() == 1


# Cyrillic o (U+043E), O (U+041E) and Ve (U+0412) are drawn like Latin o, O and B; 0 like O.
@pytest.mark.parametrize("look_alike", ["b\u043eb", "B\u041eB", "b0b", "\u0412\u041e\u0412"])
def test_sign_up_refuses_a_username_that_looks_like_another_members(client, look_alike):
    UserFactory(username="bob")
    response = sign_up(client, username=look_alike)
    assert response.status_code == 400
    html = response.content.decode()
    assert "looks too much like another member’s" in html or "different alphabets" in html
    assert User.objects.count() == 1


def test_sign_up_refuses_a_username_mixing_look_alike_letters_of_two_alphabets(client):
    response = sign_up(client, username="p\u0430ypal")
    assert response.status_code == 400
    assert "mixes letters from different alphabets" in response.content.decode()
    assert not User.objects.exists()


def test_a_look_alike_of_an_existing_username_is_refused_even_in_one_alphabet(client):
    UserFactory(username="cop")
    # Cyrillic es, o, er: drawn like c, o, p.
    response = sign_up(client, username="\u0441\u043e\u0440")
    assert response.status_code == 400
    assert "looks too much like another member’s" in response.content.decode()


@pytest.mark.parametrize("username", ["\u0410\u043d\u0434\u0440\u0435\u0439", "jürgen", "moose_2"])
def test_usernames_in_any_one_alphabet_are_welcome(client, username):
    UserFactory(username="bob")
    response = sign_up(client, username=username)
    assert response.status_code == 302
    assert User.objects.filter(username=username).exists()


# Hangul fillers are letters (so Django's username validator lets them through) that
# draw nothing: a name made of them shows as a blank, one ending in one passes for "bob".
@pytest.mark.parametrize("blank", ["\u3164", "\uffa0\uffa0", "\u3164\u3164\u3164", "bob\u3164"])
def test_sign_up_refuses_a_username_with_characters_that_show_nothing(client, blank):
    response = sign_up(client, username=blank)
    assert response.status_code == 400
    assert "characters that show nothing" in response.content.decode()
    assert not User.objects.exists()


def test_an_older_look_alike_account_can_change_its_password(client):
    """Migration 0005 left an account that looked like an older one with its name and an
    empty skeleton: saving it must not compute the skeleton that collides."""
    UserFactory(username="bob")
    legacy = UserFactory(username="bob_")
    User.objects.filter(pk=legacy.pk).update(username="b\u043eb", username_skeleton="")
    client.force_login(User.objects.get(pk=legacy.pk))
    response = client.post(
        reverse("password_change"),
        {
            "old_password": "a-long-enough-password",
            "new_password1": "still-me-after-all-2024",
            "new_password2": "still-me-after-all-2024",
        },
    )
    assert response.status_code == 302
    legacy.refresh_from_db()
    assert legacy.check_password("still-me-after-all-2024")
    assert legacy.username_skeleton == ""
    # Renamed, it gets the skeleton of its new name.
    legacy.username = "bobby"
    legacy.save()
    assert User.objects.get(pk=legacy.pk).username_skeleton == "bobby"


# --- Sign-in timing --------------------------------------------------------------------


@pytest.fixture
def password_hashes(monkeypatch):
    """Every password hash computed (a check hashes the guess; a new password is hashed)."""
    from django.contrib.auth.hashers import get_hasher

    hasher = type(get_hasher())
    original = hasher.encode
    hashed = []

    def encode(self, password, salt, *args, **kwargs):
        hashed.append(password)
        return original(self, password, salt, *args, **kwargs)

    monkeypatch.setattr(hasher, "encode", encode)
    return hashed


def test_a_refused_sign_in_costs_one_password_hash_whatever_the_accounts_state(
    client, password_hashes
):
    """The time a refusal takes is the time of one hash, so it tells nothing of the account:
    suspended or not, right password or not, or no such account."""
    UserFactory(username="active", password=GOOD_PASSWORD)
    suspended = UserFactory(username="suspended", password=GOOD_PASSWORD)
    account_services.account_suspend(member=suspended, moderator=None, reason="Spam")
    attempts = {
        "active, wrong password": ("active", "not-the-password"),
        "suspended, right password": ("suspended", GOOD_PASSWORD),
        "suspended, wrong password": ("suspended", "not-the-password"),
        "no such account": ("nobody-here", GOOD_PASSWORD),
    }
    hashes = {}
    for case, (username, password) in attempts.items():
        password_hashes.clear()
        response = client.post(reverse("login"), {"username": username, "password": password})
        assert response.status_code == 200
        hashes[case] = len(password_hashes)
    assert hashes == dict.fromkeys(attempts, 1)
