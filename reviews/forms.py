from django import forms
from django.conf import settings
from django.utils.text import capfirst
from django.utils.translation import get_language, get_language_info, ngettext_lazy
from django.utils.translation import gettext_lazy as _

from films.models import Routine

from .models import (
    COMMENT_MAX_LENGTH,
    REPORT_NOTE_MAX_LENGTH,
    REVIEW_BODY_MAX_LENGTH,
    Comment,
    Report,
    Review,
)
from .validators import VisibleTextValidator


def rating_label(value):
    """ "3½ stars" for 7: how a rating reads aloud and on screen."""
    whole, half = divmod(value, 2)
    if not whole:
        return _("½ star")
    stars = f"{whole}½" if half else f"{whole}"
    return ngettext_lazy("%(stars)s star", "%(stars)s stars", whole + half) % {"stars": stars}


def limited_text(value, *, limit, message):
    """Member text, trimmed, refused past its limit with `message` (%(length)s, %(limit)s).

    Browsers send a line break as CRLF (two characters) but count it as one against
    maxlength: store and count one, so the limit the browser shows is the one we apply.
    """
    text = value.replace("\r\n", "\n").strip()
    if len(text) > limit:
        raise forms.ValidationError(
            message % {"length": len(text), "limit": limit}, code="too_long"
        )
    return text


def language_name(code):
    """A language as its speakers write it ("English", "Español"): a reader finds their
    own whatever language the page is in."""
    return capfirst(get_language_info(code)["name_local"])


def language_choices():
    return [(code, language_name(code)) for code, _name in settings.LANGUAGES]


def current_language():
    """The active language as one of settings.LANGUAGES ("es" for "es-mx"), else the
    site's default."""
    codes = [code for code, _name in settings.LANGUAGES]
    active = (get_language() or settings.LANGUAGE_CODE).lower()
    for candidate in (active, active.split("-")[0]):
        if candidate in codes:
            return candidate
    return settings.LANGUAGE_CODE


RATING_CHOICES = [(value, rating_label(value)) for value in range(1, 11)]


def rating_field():
    """The half-star rating field, drawn by reviews/_star_input.html: a title's and a
    routine's are the same control with the same messages."""
    return forms.TypedChoiceField(
        label=_("Your rating"),
        choices=RATING_CHOICES,
        coerce=int,
        widget=forms.RadioSelect(attrs={"class": "star-radio"}),
        error_messages={
            "required": _("Choose a rating from half a star to five stars."),
            "invalid_choice": _("Choose a rating from half a star to five stars."),
        },
    )


class ReviewForm(forms.ModelForm):
    rating = rating_field()
    # Its choices are the title's routines, set for each form (see __init__).
    best_routine = forms.TypedChoiceField(
        label=_("Best routine (optional)"),
        help_text=_("The routine you would call the best of this title."),
        required=False,
        empty_value=None,
        error_messages={
            "invalid_choice": _("Choose one of this title's routines, or none."),
        },
    )
    # Not required: a post without it (a form from before the field) keeps the review's
    # language, or gives a new one the reader's (clean_language). A value that is not
    # one of the site's languages is refused.
    language = forms.ChoiceField(
        label=_("Language of your review"),
        choices=language_choices,
        required=False,
        help_text=_("Readers of this language see your review first."),
        error_messages={
            "invalid_choice": _("Choose the language your review is written in."),
        },
    )

    class Meta:
        model = Review
        fields = ["rating", "headline", "body", "best_routine", "contains_spoilers", "language"]
        labels = {
            "headline": _("Headline (optional)"),
            "body": _("Your review (optional: a rating alone is fine)"),
            "contains_spoilers": _("My review contains spoilers"),
        }
        help_texts = {
            "contains_spoilers": _("Readers will see it folded until they choose to open it."),
        }
        widgets = {
            "body": forms.Textarea(attrs={"rows": 6, "maxlength": REVIEW_BODY_MAX_LENGTH}),
        }

    def __init__(self, *args, title=None, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk is None and "language" not in kwargs.get("initial", {}):
            # A new review is offered in the language the member is reading the site in.
            self.initial["language"] = current_language()
        # One query lists the title's routines; the field offers and accepts exactly
        # those, so another title's routine (a forged post) is an invalid choice and
        # never reaches the database. No routines: no field.
        routines = {
            str(routine.pk): routine
            for routine in (
                Routine.objects.filter(title=title).only("pk", "name", "title_id")
                if title is not None
                else ()
            )
        }
        if not routines:
            del self.fields["best_routine"]
            return
        field = self.fields["best_routine"]
        field.choices = [
            ("", _("None chosen")),
            *((pk, routine.name) for pk, routine in routines.items()),
        ]
        field.coerce = routines.__getitem__

    def clean_language(self):
        language = self.cleaned_data["language"]
        if language:
            return language
        return self.instance.language if self.instance.pk is not None else current_language()

    def clean_headline(self):
        headline = self.cleaned_data["headline"]
        VisibleTextValidator(
            _("The headline must contain visible text, not only spaces or invisible characters.")
        )(headline)
        return headline

    def clean_body(self):
        body = limited_text(
            self.cleaned_data["body"],
            limit=REVIEW_BODY_MAX_LENGTH,
            message=_("Your review is %(length)s characters long; the limit is %(limit)s."),
        )
        # Empty is a rating alone; invisible characters only are not.
        VisibleTextValidator(
            _("Your review must contain visible text, not only spaces or invisible characters.")
        )(body)
        return body

    def clean(self):
        cleaned = super().clean()
        # A body refused already has its message: no second one about the headline.
        if cleaned.get("headline", "").strip() and cleaned.get("body") == "":
            self.add_error("body", _("Write a few words under your headline, or leave both empty."))
        return cleaned

    def _get_validation_exclusions(self):
        # The rating's range, a headline needing a body and the body's length are this
        # form's own checks, with messages written for the form. The model's check
        # constraints on them would each cost a query on every post and could only repeat
        # them; the database still enforces every one.
        # The best routine is checked against the title's routines above, which the
        # model's foreign key check could only repeat with another query.
        return super()._get_validation_exclusions() | {
            "rating",
            "headline",
            "body",
            "best_routine",
            "language",  # the field's choices are the constraint's; no query to repeat it
        }


class RoutineRatingForm(forms.Form):
    """A member's rating of a routine; the view passes the routine and the member."""

    rating = rating_field()


class CommentForm(forms.ModelForm):
    class Meta:
        model = Comment
        fields = ["body"]
        labels = {"body": _("Your comment")}
        widgets = {"body": forms.Textarea(attrs={"rows": 3, "maxlength": COMMENT_MAX_LENGTH})}

    def clean_body(self):
        body = limited_text(
            self.cleaned_data["body"],
            limit=COMMENT_MAX_LENGTH,
            message=_("Your comment is %(length)s characters long; the limit is %(limit)s."),
        )
        if not body:
            raise forms.ValidationError(_("Write something before posting."), code="empty")
        VisibleTextValidator(
            _("Your comment must contain visible text, not only spaces or invisible characters.")
        )(body)
        return body


class ReportForm(forms.ModelForm):
    # Listed without a "---------" choice: a reason must be picked.
    reason = forms.ChoiceField(
        label=_("What is wrong?"),
        choices=Report.Reason.choices,
        widget=forms.RadioSelect,
        error_messages={"required": _("Choose what is wrong.")},
    )

    class Meta:
        model = Report
        fields = ["reason", "note"]
        labels = {
            "reason": _("What is wrong?"),
            "note": _("Anything the moderators should know (optional)"),
        }
        widgets = {
            "reason": forms.RadioSelect,
            "note": forms.Textarea(attrs={"rows": 3, "maxlength": REPORT_NOTE_MAX_LENGTH}),
        }

    def clean_note(self):
        return limited_text(
            self.cleaned_data["note"],
            limit=REPORT_NOTE_MAX_LENGTH,
            message=_("The note can be at most %(limit)s characters long."),
        )
