"""Sessions: a new one at sign-in, none after sign-out or a suspension."""

from importlib import import_module

import pytest
from django.conf import settings
from django.contrib.sessions.backends.base import SessionBase
from django.test import Client
from django.urls import reverse

from accounts import services as account_services
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "battle-in-vegas-2014"


def session_store(key=None) -> SessionBase:
    return import_module(settings.SESSION_ENGINE).SessionStore(key)


def sign_in(client, member):
    response = client.post(reverse("login"), {"username": member.username, "password": PASSWORD})
    assert response.status_code == 302
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def is_signed_in(client, member):
    page = client.get(reverse("films:home")).content.decode()
    return f'member-name" href="{member.get_absolute_url()}"' in page and ">Sign out<" in page


def test_signing_in_replaces_the_session_a_visitor_had():
    """A session fixed before sign-in (planted by an attacker, say) is useless after it."""
    member = UserFactory(password=PASSWORD)
    planted = session_store()
    planted["planted"] = True
    planted.create()
    client = Client()
    client.cookies[settings.SESSION_COOKIE_NAME] = planted.session_key
    new_key = sign_in(client, member)
    assert new_key != planted.session_key
    assert not session_store().exists(planted.session_key)
    assert is_signed_in(client, member)


def test_signing_out_ends_the_session_on_the_server_too():
    member = UserFactory(password=PASSWORD)
    client = Client()
    key = sign_in(client, member)
    client.post(reverse("logout"))
    assert not session_store().exists(key)
    replay = Client()
    replay.cookies[settings.SESSION_COOKIE_NAME] = key
    assert not is_signed_in(replay, member)


def test_a_suspension_ends_every_session_for_good():
    member = UserFactory(password=PASSWORD)
    laptop, phone = Client(), Client()
    sign_in(laptop, member)
    sign_in(phone, member)
    assert is_signed_in(laptop, member) and is_signed_in(phone, member)
    account_services.account_suspend(member=member, moderator=None, reason="Spam")
    assert not is_signed_in(laptop, member)
    account_services.account_unsuspend(member=member, moderator=None)
    # Lifting the suspension lets the member sign in again; it does not revive old sessions.
    assert not is_signed_in(phone, member)
    fresh = Client()
    sign_in(fresh, member)
    assert is_signed_in(fresh, member)


def test_sessions_from_before_session_epochs_stay_valid():
    """Until a member's first epoch their session hash is Django's own, so deploying this
    signed nobody out; the first epoch changes it."""
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.auth.base_user import AbstractBaseUser

    member = UserFactory(password=PASSWORD)
    djangos_own = AbstractBaseUser._get_session_auth_hash(member)
    # A session written before the epochs, holding the hash Django itself made.
    before = session_store()
    before[SESSION_KEY] = str(member.pk)
    before[BACKEND_SESSION_KEY] = "accounts.backends.MemberBackend"
    before[HASH_SESSION_KEY] = djangos_own
    before.create()
    client = Client()
    client.cookies[settings.SESSION_COOKIE_NAME] = before.session_key
    assert is_signed_in(client, member)
    member.session_epoch = 1
    member.save(update_fields=["session_epoch"])
    assert member.get_session_auth_hash() != djangos_own
    assert not is_signed_in(client, member)


def test_unticking_active_in_the_admin_ends_the_sessions_for_good():
    member = UserFactory(password=PASSWORD)
    phone = Client()
    sign_in(phone, member)
    staff = Client()
    staff.force_login(UserFactory(is_staff=True, is_superuser=True))
    url = reverse("admin:accounts_user_change", args=[member.pk])
    form = staff.get(url).context["adminform"].form
    data = {
        name: value
        for name, value in form.initial.items()
        if value is not None and name not in {"password", "groups", "user_permissions"}
    }
    data |= {"is_active": "", "date_joined_0": "2026-01-01", "date_joined_1": "10:00:00"}
    data.pop("date_joined", None)
    data.pop("last_login", None)
    response = staff.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    member.refresh_from_db()
    assert not member.is_active and member.session_epoch == 1
    member.is_active = True
    member.save()
    assert not is_signed_in(phone, member)
