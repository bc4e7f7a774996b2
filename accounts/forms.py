from django import forms
from django.contrib.auth.forms import AuthenticationForm, UserCreationForm
from django.utils.translation import gettext_lazy as _

from .models import User
from .usernames import USERNAME_MAX_LENGTH, validate_username


class _NeverRefilled(forms.TextInput):
    """Sent back empty: a person whose browser filled it in by mistake can send again."""

    def format_value(self, value):
        return None


class SignUpForm(UserCreationForm):
    email = forms.EmailField(
        label=_("Email address"),
        help_text=_("For resetting your password. Never shown to anyone."),
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

    def clean_username(self):
        # None when Django's check found the name taken (in any case): its error is added.
        username = super().clean_username()
        if username is not None:
            validate_username(username)
        return username

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
        email = self.cleaned_data["email"].strip()
        if User.objects.filter(email__iexact=email).exists():
            raise forms.ValidationError(
                _(
                    "An account with this email address already exists. "
                    "Sign in, or reset the password."
                ),
                code="duplicate_email",
            )
        return email


class AccountDeleteForm(forms.Form):
    password = forms.CharField(
        label=_("Your password, to confirm"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_password(self):
        password = self.cleaned_data["password"]
        if not self.user.check_password(password):
            raise forms.ValidationError(_("That is not your password."), code="wrong_password")
        return password


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
