from django import forms
from django.utils.translation import gettext_lazy as _

from films.search import normalize_for_search


class SearchForm(forms.Form):
    q = forms.CharField(
        label=_("Search"),
        min_length=2,
        max_length=100,
        strip=True,
        error_messages={
            "min_length": _("Type at least %(limit_value)d characters to search."),
            "max_length": _("Searches can be at most %(limit_value)d characters long."),
            "required": _("Type a name to search for."),
        },
    )

    def clean_q(self):
        query = self.cleaned_data["q"]
        # Punctuation, emoji or a bare accent alone has no word to look for.
        if len(normalize_for_search(query)) < 2:
            raise forms.ValidationError(
                _("Type at least 2 letters or digits to search."), code="too_short"
            )
        return query
