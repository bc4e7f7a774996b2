"""The admin's user pages: adding a member and changing who they are."""

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from accounts.models import User
from tests.factories import StaffUserFactory, UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "battle-in-vegas-2014"


@pytest.fixture
def admin_client(client):
    client.force_login(StaffUserFactory(username="head-admin"))
    return client


def add_user(client, **fields):
    data = {
        "username": "newstaff",
        "email": "newstaff@example.org",
        "usable_password": "true",
        "password1": PASSWORD,
        "password2": PASSWORD,
        "_save": "Save",
    } | fields
    return client.post(reverse("admin:accounts_user_add"), data)


def change_form_data(user, **changes):
    """What the change page sends back for the member, as it shows them, with changes."""
    return {
        "username": user.username,
        "email": user.email,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "is_active": "on" if user.is_active else "",
        "is_staff": "on" if user.is_staff else "",
        "is_superuser": "on" if user.is_superuser else "",
        "groups": [group.pk for group in user.groups.all()],
        "user_permissions": [],
        "date_joined_0": user.date_joined.strftime("%Y-%m-%d"),
        "date_joined_1": user.date_joined.strftime("%H:%M:%S"),
        "initial-date_joined_0": user.date_joined.strftime("%Y-%m-%d"),
        "initial-date_joined_1": user.date_joined.strftime("%H:%M:%S"),
        "_save": "Save",
    } | changes


def test_an_admin_adds_a_member_with_an_email_then_makes_them_staff_in_a_group(admin_client):
    page = admin_client.get(reverse("admin:accounts_user_add"))
    assert 'name="email"' in page.content.decode()
    response = add_user(admin_client)
    assert response.status_code == 302
    member = User.objects.get(username="newstaff")
    assert member.email == "newstaff@example.org"
    assert member.check_password(PASSWORD)

    moderators = Group.objects.get(name="Moderators")
    url = reverse("admin:accounts_user_change", args=[member.pk])
    response = admin_client.post(
        url, change_form_data(member, is_staff="on", groups=[moderators.pk])
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    member.refresh_from_db()
    assert member.is_staff
    assert list(member.groups.all()) == [moderators]


def test_adding_a_member_needs_an_email_address_not_already_used(admin_client):
    response = add_user(admin_client, email="")
    assert response.status_code == 200
    assert "This field is required." in response.content.decode()
    UserFactory(email="Taken@Example.org")
    response = add_user(admin_client, email="taken@example.org")
    assert response.status_code == 200
    assert "An account with this email address already exists." in response.content.decode()
    assert not User.objects.filter(username="newstaff").exists()


def test_the_admin_refuses_a_username_that_looks_like_another_members(admin_client):
    bob = UserFactory(username="bob")
    response = add_user(admin_client, username="\u0412\u041e\u0412")  # all Cyrillic: Ve, O, Ve
    assert response.status_code == 200
    assert "looks too much like another member’s" in response.content.decode()
    response = add_user(admin_client, username="b\u043eb")  # a Cyrillic o among Latin letters
    assert "mixes letters from different alphabets" in response.content.decode()
    assert list(User.objects.filter(is_staff=False)) == [bob]

    other = UserFactory(username="alice")
    url = reverse("admin:accounts_user_change", args=[other.pk])
    response = admin_client.post(url, change_form_data(other, username="B0B"))
    assert response.status_code == 200
    assert "looks too much like another member’s" in response.content.decode()
    # Saving the member under their own name is not a clash with themselves.
    response = admin_client.post(
        reverse("admin:accounts_user_change", args=[bob.pk]), change_form_data(bob)
    )
    assert response.status_code == 302
