from django.contrib.auth.backends import ModelBackend

from .models import User


class MemberBackend(ModelBackend):
    """Django's backend, which also tells the sign-in form when the right password belongs to
    a suspended account, so the form can say why without checking the password again.

    Every refusal costs one password hash, as for a wrong password or an unknown username
    (Django's own rule): how long it takes tells nothing about the account's state.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is None:
            username = kwargs.get(User.USERNAME_FIELD)
        if username is None or password is None:
            return None
        try:
            member = User._default_manager.get_by_natural_key(username)
        except User.DoesNotExist:
            User().set_password(password)  # the cost of a check, for a name that is not there
            return None
        if not member.check_password(password):
            return None
        if self.user_can_authenticate(member):
            return member
        if member.suspended_at is not None and request is not None:
            request.signed_in_while_suspended = True
        return None
