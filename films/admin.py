from django.contrib import admin
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from modeltranslation.admin import (
    TranslationAdmin,
    TranslationStackedInline,
    TranslationTabularInline,
)

from .models import (
    CatalogSeedRecord,
    Character,
    Credit,
    Crew,
    CrewMembership,
    Person,
    Routine,
    RoutineDancer,
    Title,
    Trivia,
)

# The catalog's texts are edited in both languages side by side (films/translation.py): each
# English field with its Spanish one beside it on the same row. modeltranslation's plain
# classes, not its tabbed ones, which load jQuery UI from a CDN that the site's CSP refuses.


class NamedModelAdmin(TranslationAdmin):
    """Titles, people, characters and crews: found by name whatever the case or accents
    typed, with the slug filled in from the (English) name."""

    list_display = ["name", "slug"]
    search_fields = ["name"]
    prepopulated_fields = {"slug": ["name"]}

    def get_search_results(self, request, queryset, search_term):
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        if search_term:
            results |= queryset.matching(search_term)
        return results, may_have_duplicates


class CreditInline(admin.TabularInline):
    model = Credit
    extra = 1
    autocomplete_fields = ["person", "character"]
    fields = ["role", "person", "character", "billing"]


class RoutineInline(TranslationStackedInline):
    model = Routine
    extra = 0
    prepopulated_fields = {"slug": ["name"]}
    autocomplete_fields = ["choreographers", "crews"]
    fields = [
        "name",
        "slug",
        "order",
        ("description_en", "description_es"),
        "crews",
        "choreographers",
    ]
    # Its dancers are an inline of the routine's own page (inlines do not nest).
    show_change_link = True


class RoutineDancerInline(admin.TabularInline):
    model = RoutineDancer
    extra = 1
    autocomplete_fields = ["person", "character"]
    fields = ["person", "character", "order"]


class TriviaInline(TranslationTabularInline):
    model = Trivia
    extra = 1
    fields = ["text_en", "text_es", "order", "source"]


class CrewMembershipInline(admin.TabularInline):
    model = CrewMembership
    extra = 1
    autocomplete_fields = ["title", "person", "character"]
    fields = ["title", "person", "character"]


class PosterPreviewMixin:
    @admin.display(description=_("poster"))
    def poster_preview(self, title):
        if not title.pk:
            return _("Shown once the title is saved.")
        return format_html(
            '<img src="{}" alt="{}" width="80" height="120">',
            title.poster_thumbnail_url,
            _("Poster of %(name)s") % {"name": title.name},
        )


@admin.register(Title)
class TitleAdmin(PosterPreviewMixin, NamedModelAdmin):
    list_display = ["name", "poster_preview", "kind", "release_year", "franchise_position"]
    list_display_links = ["name", "poster_preview"]
    list_filter = ["kind", "release_year"]
    search_fields = ["name_en", "name_es", "tagline_en", "tagline_es"]
    readonly_fields = ["poster_preview"]
    inlines = [CreditInline, RoutineInline, TriviaInline]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    ("name_en", "name_es"),
                    "slug",
                    "kind",
                    "franchise_position",
                    ("tagline_en", "tagline_es"),
                    ("synopsis_en", "synopsis_es"),
                ],
                "description": _(
                    "Leave the Spanish title blank unless the Spanish release title is "
                    "certain: the original title is shown. A text left blank in Spanish is "
                    "shown in English."
                ),
            },
        ),
        (_("Release"), {"fields": ["release_year", "release_date", "runtime_minutes", "seasons"]}),
        (_("Box office"), {"fields": ["box_office_domestic_usd", "box_office_international_usd"]}),
        (
            _("Poster"),
            {
                "fields": ["poster", "poster_preview"],
                "description": _(
                    "JPEG, PNG or WebP. Until one is uploaded the site draws a poster."
                ),
            },
        ),
    ]


@admin.register(Person)
class PersonAdmin(NamedModelAdmin):
    list_filter = ["credits__role", "credits__title"]
    fields = ["name", "slug", ("bio_en", "bio_es")]


@admin.register(Character)
class CharacterAdmin(NamedModelAdmin):
    list_filter = ["credits__title"]
    fields = ["name", "slug", ("description_en", "description_es")]


@admin.register(Credit)
class CreditAdmin(admin.ModelAdmin):
    list_display = ["person", "role", "character", "title", "billing"]
    list_select_related = ["person", "character", "title"]
    list_filter = ["role", "title"]
    search_fields = ["person__name", "character__name", "title__name_en", "title__name_es"]
    autocomplete_fields = ["title", "person", "character"]


@admin.register(Crew)
class CrewAdmin(NamedModelAdmin):
    list_filter = ["memberships__title"]
    fields = ["name", "slug", ("description_en", "description_es")]
    inlines = [CrewMembershipInline]


@admin.register(Routine)
class RoutineAdmin(TranslationAdmin):
    list_display = ["name", "title", "order", "rating_count", "best_routine_count"]
    list_select_related = ["title"]
    list_filter = ["title", "crews"]
    search_fields = ["name", "description_en", "description_es", "title__name_en"]
    prepopulated_fields = {"slug": ["name"]}
    autocomplete_fields = ["title", "choreographers", "crews"]
    # The counts are kept by members' ratings and reviews (reviews.counts): shown, never typed.
    readonly_fields = ["rating_count", "rating_sum", "best_routine_count"]
    fields = [
        "title",
        "name",
        "slug",
        "order",
        ("description_en", "description_es"),
        "crews",
        "choreographers",
        *readonly_fields,
    ]
    inlines = [RoutineDancerInline]


@admin.register(Trivia)
class TriviaAdmin(TranslationAdmin):
    list_display = ["__str__", "title", "order"]
    list_select_related = ["title"]
    list_filter = ["title"]
    search_fields = ["text_en", "text_es", "source"]
    fields = ["title", ("text_en", "text_es"), "order", "source"]
    autocomplete_fields = ["title"]


@admin.register(CatalogSeedRecord)
class CatalogSeedRecordAdmin(admin.ModelAdmin):
    """What `load_catalog` has added once and will not add again. Deleting a record lets
    the next load add that entry afresh."""

    list_display = ["key", "loaded_at"]
    search_fields = ["key"]
    readonly_fields = ["key", "loaded_at"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
