from django import forms
from django.utils.translation import gettext_lazy as _

from .models import Title


class TitleFilterForm(forms.Form):
    """The title list's filters: read from the query string, so every view is linkable."""

    SORT_FRANCHISE = "franchise"
    SORT_YEAR = "year"
    SORT_YEAR_DESC = "-year"
    SORT_CHOICES = [
        (SORT_FRANCHISE, _("Franchise order")),
        (SORT_YEAR, _("Year, oldest first")),
        (SORT_YEAR_DESC, _("Year, newest first")),
    ]
    ORDERINGS = {
        SORT_FRANCHISE: ["franchise_position"],
        SORT_YEAR: ["release_year", "release_date", "franchise_position"],
        SORT_YEAR_DESC: ["-release_year", "-release_date", "-franchise_position"],
    }

    kind = forms.ChoiceField(
        label=_("Show"),
        required=False,
        choices=[("", _("Films and series")), *Title.Kind.choices],
    )
    sort = forms.ChoiceField(label=_("Sort by"), required=False, choices=SORT_CHOICES)

    def filter(self, titles):
        """Apply the valid choices; an unknown value falls back to the default view."""
        data = self.cleaned_data if self.is_valid() else {}
        kind = data.get("kind") or ""
        if kind:
            titles = titles.filter(kind=kind)
        return titles.order_by(*self.ORDERINGS[data.get("sort") or self.SORT_FRANCHISE])


class RoutineFilterForm(forms.Form):
    """The leaderboard's filters, read from the query string so every view is linkable;
    the choices are the titles and crews that have routines (RoutineLeaderboard)."""

    title = forms.ChoiceField(label=_("Title"), required=False)
    crew = forms.ChoiceField(label=_("Dance crew"), required=False)
    best = forms.BooleanField(label=_("Only the best routine of each title"), required=False)

    def __init__(self, *args, titles, crews, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["title"].choices = [
            ("", _("Every title")),
            *((title.slug, title.name) for title in titles),
        ]
        self.fields["crew"].choices = [("", _("Every crew")), *((c.slug, c.name) for c in crews)]

    def filters(self):
        """The valid choices as RoutineLeaderboard.filtered takes them; an unknown value
        (an old or hand-edited link) is left out, as the title list does."""
        if not self.is_bound:
            return {}
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        return {
            "title": data.get("title", ""),
            "crew": data.get("crew", ""),
            "best_of_each_title": data.get("best", False),
        }
