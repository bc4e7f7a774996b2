from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.contrib.auth.models import UserManager as DjangoUserManager
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _

from .usernames import username_skeleton

# Usernames kept for the sample accounts of load_sample_content: nobody signs up as one.
SAMPLE_PREFIX = "sample-"


class UserManager(DjangoUserManager):
    def with_email(self, address):
        """The accounts using this address, in any case: one at most (a constraint)."""
        return self.filter(email__iexact=address)


class User(AbstractUser):
    """A member of the community. A custom model from the start, so it can grow."""

    email = models.EmailField(_("email address"))
    is_sample = models.BooleanField(
        _("sample account"),
        default=False,
        help_text=_("Made by load_sample_content to show a newcomer a living site; not a person."),
    )

    # Off from sign-up until the member opens the link emailed to the address: until then
    # the account cannot sign in. On for every account made otherwise (staff, the admin).
    email_confirmed = models.BooleanField(_("email address confirmed"), default=True)

    # Set while a moderator has suspended the account (is_active is then off too); kept
    # apart from is_active so lifting a suspension never revives an account closed otherwise.
    suspended_at = models.DateTimeField(_("suspended at"), null=True, blank=True, editable=False)

    # Raised to end every session the member has open (a suspension): sessions carry a
    # hash that includes it, and Django ends any whose hash no longer matches.
    session_epoch = models.PositiveIntegerField(default=0, editable=False)

    # What the username looks like, ignoring case (accounts.usernames): no two members may
    # pass for each other. Empty only for accounts written around save() (bench data).
    username_skeleton = models.TextField(default="", editable=False)

    # The language the member last chose on the site (the header's switch, the page they
    # signed up on, or the one they were reading when they signed in); empty until then.
    # Their emails are written in it, and signing in takes them to it.
    language = models.CharField(
        _("language"), max_length=8, choices=settings.LANGUAGES, blank=True, default=""
    )

    objects = UserManager()

    class Meta:
        ordering = ["username"]
        verbose_name = _("user")
        verbose_name_plural = _("users")
        permissions = [("suspend_user", _("Can suspend members and lift suspensions"))]
        constraints = [
            models.UniqueConstraint(
                Lower("email"),
                condition=~Q(email=""),
                name="user_email_unique_ignoring_case",
                violation_error_message=_("An account with this email address already exists."),
            ),
            models.CheckConstraint(
                condition=Q(language__in=["", *(code for code, _name in settings.LANGUAGES)]),
                name="user_language_offered",
            ),
            models.UniqueConstraint(
                fields=["username_skeleton"],
                condition=~Q(username_skeleton=""),
                name="user_username_skeleton_unique",
                violation_error_message=_(
                    "This username looks too much like another member’s. Please choose another."
                ),
            ),
        ]

    def __str__(self):
        return self.username

    @classmethod
    def from_db(cls, db, field_names, values):
        member = super().from_db(db, field_names, values)
        member._loaded_username = member.__dict__.get("username")
        return member

    def save(self, *args, **kwargs):
        # Only a new or renamed account gets its skeleton computed: an older look-alike
        # (migration 0005 left its skeleton empty) must still save its password or flags.
        update_fields = kwargs.get("update_fields")
        if self._state.adding or self.username != getattr(self, "_loaded_username", None):
            self.username_skeleton = username_skeleton(self.username)
            if update_fields is not None and "username" in update_fields:
                kwargs["update_fields"] = {*update_fields, "username_skeleton"}
        super().save(*args, **kwargs)
        if update_fields is None or "username" in update_fields:
            self._loaded_username = self.username

    @property
    def preferred_language(self):
        """What to write to the member in: their choice, else the site's default."""
        return self.language or settings.LANGUAGE_CODE

    def get_absolute_url(self):
        return reverse("accounts:profile", kwargs={"username": self.username})

    def _get_session_auth_hash(self, secret=None):
        # Django's hash (of the password) until the first epoch, so raising it is what
        # ends sessions, never this code arriving.
        if not self.session_epoch:
            return super()._get_session_auth_hash(secret=secret)
        return salted_hmac(
            "accounts.User.session_auth_hash",
            f"{self.password}:{self.session_epoch}",
            secret=secret,
            algorithm="sha256",
        ).hexdigest()
