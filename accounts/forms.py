from django import forms
from django.contrib.auth import forms as auth_forms
from django.contrib.auth.forms import AuthenticationForm, UserCreationForm
from django.template.loader import render_to_string
from django.utils.translation import get_language, override
from django.utils.translation import gettext_lazy as _

from .models import User
from .usernames import USERNAME_MAX_LENGTH, validate_username

# The column's length (the model's EmailField): a form field allowing more (Django's
# default is 320) would let an address through that the database then refuses.
EMAIL_MAX_LENGTH = User._meta.get_field("email").max_length


class _NeverRefilled(forms.TextInput):
    """Sent back empty: a person whose browser filled it in by mistake can send again."""

    def format_value(self, value):
        return None


class UsernameRulesMixin:
    """The site's username rules (accounts.usernames) on every form that sets a username:
    sign-up and the admin's add and change forms. A name is checked when new or changed."""

    def clean_username(self):
        parent = getattr(super(), "clean_username", None)
        # Django's creation forms answer None when the name is taken in any case, having
        # added their error already.
        username = parent() if parent is not None else self.cleaned_data["username"]
        if username is not None and (self.instance.pk is None or "username" in self.changed_data):
            validate_username(username, member=self.instance)
        return username


class SignUpForm(UsernameRulesMixin, UserCreationForm):
    email = forms.EmailField(
        label=_("Email address"),
        help_text=_("For resetting your password. Never shown to anyone."),
        max_length=EMAIL_MAX_LENGTH,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    # A honeypot: moved off screen by the site's CSS and skipped by the Tab key, so people
    # never fill it in; a naive bot fills in every field it finds.
    extra_details = forms.CharField(
        label=_("Leave this field empty"),
        required=False,
        widget=_NeverRefilled(attrs={"autocomplete": "off", "tabindex": "-1"}),
    )

    class Meta(UserCreationForm.Meta):
        model = User
        fields = ["username", "email"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        username = self.fields["username"]
        username.max_length = USERNAME_MAX_LENGTH
        username.widget.attrs["maxlength"] = USERNAME_MAX_LENGTH
        username.help_text = _(
            "Up to %(limit)s characters: letters, digits and @ . + - _ only."
        ) % {"limit": USERNAME_MAX_LENGTH}

    def clean(self):
        cleaned_data = super().clean()
        if cleaned_data.get("extra_details"):
            # Above the form, where a person would see it; and says nothing a bot could use.
            raise forms.ValidationError(
                _("This account could not be created. Please try again."), code="honeypot"
            )
        return cleaned_data

    def clean_email(self):
        # Whether an account has the address is never said here: the sign-up goes on and
        # its owner is emailed instead (accounts.services.sign_up).
        return self.cleaned_data["email"].strip()

    def _get_validation_exclusions(self):
        # Nor by the model's constraint on the address, which a ModelForm would check.
        return super()._get_validation_exclusions() | {"email"}


class EmailAddressForm(forms.Form):
    email = forms.EmailField(
        label=_("Email address"),
        max_length=EMAIL_MAX_LENGTH,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )


class PasswordCheckForm(forms.Form):
    """A form that asks for the account's own password before it acts for `user`."""

    password_label = _("Your password, to confirm")
    wrong_password_message = _("That is not your password.")

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        # Last, after the form's own fields, as the forms have always shown it.
        self.fields["password"] = forms.CharField(
            label=self.password_label,
            strip=False,
            widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        )

    def clean_password(self):
        password = self.cleaned_data["password"]
        if not self.user.check_password(password):
            raise forms.ValidationError(self.wrong_password_message, code="wrong_password")
        return password


class AccountDeleteForm(PasswordCheckForm):
    pass


class SignUpConfirmForm(PasswordCheckForm):
    """The password of the account a sign-up link confirms: a link to an account someone
    else made with your address (they signed up first) is then no way into it."""

    password_label = _("The password you chose")
    wrong_password_message = _("That is not the password of this account.")


class EmailChangeForm(PasswordCheckForm):
    email = forms.EmailField(
        label=_("New email address"),
        max_length=EMAIL_MAX_LENGTH,
        help_text=_("We send a link to it: the change is made when you open it and confirm."),
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )

    def clean_email(self):
        email = self.cleaned_data["email"].strip()
        if email.lower() == self.user.email.lower():
            raise forms.ValidationError(_("That is your address already."), code="unchanged")
        return email


class SignInForm(AuthenticationForm):
    """Django's sign-in form, telling a suspended member why they cannot sign in.

    Only after the right password, so it reveals nothing to someone guessing; the backend
    (MemberBackend) notes it from its one password check, so a suspended account takes no
    longer to refuse than any other; and it still refuses inactive accounts, so their old
    sessions stay ended.
    """

    def clean(self):
        try:
            return super().clean()
        except forms.ValidationError:
            if getattr(self.request, "signed_in_while_suspended", False):
                raise forms.ValidationError(
                    _("This account is suspended by the moderators, so it cannot sign in."),
                    code="suspended",
                ) from None
            raise

    def confirm_login_allowed(self, user):
        # Reached only with the right password, so it tells nothing to someone guessing.
        super().confirm_login_allowed(user)
        if not user.email_confirmed:
            self.needs_confirmation = True
            raise forms.ValidationError(
                _(
                    "Confirm your email address first: open the link we emailed to it when "
                    "you signed up."
                ),
                code="unconfirmed",
            )


class PasswordResetForm(auth_forms.PasswordResetForm):
    """Django's, except that the request only queues the work: finding the accounts, making
    their links and sending them happen in the worker (accounts.tasks.send_password_reset).
    A known and an unknown address then take the same path, one queued task each."""

    def save(self, domain_override=None, use_https=False, request=None, **kwargs):
        from .tasks import enqueue_on_commit, send_password_reset

        enqueue_on_commit(
            send_password_reset,
            email=self.cleaned_data["email"],
            domain=domain_override or request.get_host(),
            use_https=use_https,
            language=get_language(),
        )


class PasswordResetMailer(auth_forms.PasswordResetForm):
    """Django's reset mail, made and sent by the worker, through the one sending task."""

    def get_users(self, email):
        # An account waiting for its address to be confirmed resets nothing: confirming is
        # its way in (accounts.tasks.send_signup_confirmation).
        return (user for user in super().get_users(email) if user.email_confirmed)

    def send_mail(
        self,
        subject_template_name,
        email_template_name,
        context,
        from_email,
        to_email,
        html_email_template_name=None,
    ):

        # In the account's language, whichever page the reset was asked from.
        with override(context["user"].preferred_language):
            self._send(
                subject_template_name,
                email_template_name,
                context,
                from_email,
                to_email,
                html_email_template_name,
            )

    @staticmethod
    def _send(
        subject_template_name,
        email_template_name,
        context,
        from_email,
        to_email,
        html_email_template_name,
    ):
        from .tasks import send_email

        send_email.call(
            subject="".join(render_to_string(subject_template_name, context).splitlines()),
            body=render_to_string(email_template_name, context),
            html=(
                render_to_string(html_email_template_name, context)
                if html_email_template_name
                else ""
            ),
            recipients=[to_email],
            from_email=from_email or "",
        )
