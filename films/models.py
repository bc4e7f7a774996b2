"""The franchise catalog: titles, people, characters, credits, crews, routines, trivia."""

import functools

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import Q
from django.db.models.signals import post_delete
from django.dispatch import receiver
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import npgettext, pgettext_lazy
from imagekit.models import ImageSpecField
from imagekit.processors import ResizeToFill, Transpose

from .images import delete_poster_files, reencoded_image
from .search import normalize_for_search
from .validators import validate_poster

RATING_VALUES = range(1, 11)  # half-stars: 1 is half a star, 10 is five stars


def half_star_histogram(counts):
    """The ten half-star buckets, lowest first, each with its count and its share of the
    largest; `counts` maps a rating (1 to 10) to how many gave it, absent meaning none."""
    largest = max(counts.values(), default=0) or 1
    return [
        {
            "value": value,
            "stars": value / 2,
            "count": counts.get(value, 0),
            "percent_of_largest": round(100 * counts.get(value, 0) / largest),
        }
        for value in RATING_VALUES
    ]


class SearchableName(models.Model):
    """A model found by name in the site search, whatever the case or accents typed."""

    # Kept in step with `name` on save: LIKE on SQLite folds ASCII case only and
    # neither database ignores accents, so search compares one folded form. A text
    # field because folding can lengthen a name (NFKD splits some characters in several).
    search_name = models.TextField(editable=False, default="")

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        # A title's name may have a Spanish form (films/translation.py): both are searched,
        # whatever the language of the save, each folded apart so no match spans the two.
        name_fields = ["name", *(f"name_{code}" for code, _label in settings.LANGUAGES)]
        names = [getattr(self, field, None) for field in name_fields[1:]]
        names = [name for name in dict.fromkeys(names) if name] or [self.name]
        self.search_name = " ".join(normalize_for_search(name) for name in names)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and not set(name_fields).isdisjoint(update_fields):
            kwargs["update_fields"] = {*update_fields, "search_name"}
        super().save(*args, **kwargs)


class CatalogEntry(SearchableName):
    """A title, person, character or crew: named, with a page of its own at its slug."""

    detail_view = ""  # the URL name of the entry's page

    class Meta:
        abstract = True
        ordering = ["name"]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse(self.detail_view, kwargs={"slug": self.slug})


class NamedQuerySet(models.QuerySet):
    def matching(self, query: str):
        """Names containing the query, ignoring case and accents."""
        return self.filter(search_name__contains=normalize_for_search(query))


# Titles by release: year, then date where known, then their place in the franchise.
RELEASE_ORDER = (
    models.F("release_year").asc(nulls_last=True),
    models.F("release_date").asc(nulls_last=True),
    "franchise_position",
)


class StoredRatings:
    """The averages of a model's stored rating count and sum (half-star units, 1 to 10 each),
    which the reviews app keeps: a title's and a routine's."""

    @property
    def rating_average(self):
        """Average rating in stars (0.5 to 5), or None before the first rating."""
        if not self.rating_count:
            return None
        return self.rating_sum / self.rating_count / 2

    @property
    def rating_average_half_stars(self):
        """The average rounded to the nearest half star, as 1 to 10, for drawing stars."""
        if not self.rating_count:
            return None
        # Half up, as the one-decimal average beside it is shown (round() goes to even).
        return max(1, int(self.rating_sum / self.rating_count + 0.5))


class TitleQuerySet(NamedQuerySet):
    def in_franchise_order(self):
        return self.order_by("franchise_position")

    def in_release_order(self):
        """By release (year, then date where known); a title without a year last. The
        series High Water (2018) comes before the film Year of the Dance (2019)."""
        return self.order_by(*RELEASE_ORDER)

    def films(self):
        return self.filter(kind=Title.Kind.FILM)

    def series(self):
        return self.filter(kind=Title.Kind.SERIES)

    @staticmethod
    def detail_prefetches():
        """Everything a title page shows, in a fixed number of queries whatever its size."""
        return [
            models.Prefetch("credits", Credit.objects.select_related("person", "character")),
            models.Prefetch(
                "crew_memberships",
                CrewMembership.objects.select_related("crew", "person", "character").order_by(
                    "crew__name", "person__name"
                ),
            ),
            models.Prefetch(
                "routines", Routine.objects.prefetch_related("choreographers", "crews")
            ),
            "trivia",
        ]


class Title(StoredRatings, CatalogEntry):
    """A film or a series of the franchise."""

    class Kind(models.TextChoices):
        FILM = "film", _("Film")
        SERIES = "series", _("Series")

    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.FILM)
    name = models.CharField(_("title"), max_length=200, unique=True)
    slug = models.SlugField(_("slug"), max_length=200, unique=True)
    franchise_position = models.PositiveSmallIntegerField(
        _("position in the franchise"),
        unique=True,
        help_text=_("1 for the first film; the films come in release order, then the series."),
    )
    release_year = models.PositiveSmallIntegerField(
        _("year"), help_text=_("Year of release, or of the premiere for a series.")
    )
    release_date = models.DateField(
        _("release date"),
        null=True,
        blank=True,
        help_text=_("First release in the United States, where known."),
    )
    runtime_minutes = models.PositiveSmallIntegerField(
        _("runtime (minutes)"), null=True, blank=True
    )
    seasons = models.PositiveSmallIntegerField(
        _("seasons"), null=True, blank=True, help_text=_("Series only.")
    )
    tagline = models.CharField(_("tagline"), max_length=300, blank=True)
    synopsis = models.TextField(_("synopsis"), blank=True)
    box_office_domestic_usd = models.PositiveBigIntegerField(
        _("domestic box office (US$)"), null=True, blank=True
    )
    box_office_international_usd = models.PositiveBigIntegerField(
        _("international box office (US$)"), null=True, blank=True
    )
    poster = models.ImageField(
        _("poster"), upload_to="posters/", blank=True, validators=[validate_poster]
    )
    # The resized copy lists show; generated on save, so a list never sends a full-size poster.
    poster_thumbnail = ImageSpecField(
        source="poster",
        # Transpose first: phone photos are often stored sideways with an EXIF rotation.
        processors=[Transpose(), ResizeToFill(240, 360)],
        format="JPEG",
        options={"quality": 82},
    )
    # The copy the title page shows (at most 320 CSS pixels wide, 2:3 like the box it fills),
    # so it never sends the upload itself, which may be 2400 pixels tall. Also generated on
    # save; posters uploaded before it existed need `manage.py generateimages
    # films:title:poster_large` once.
    poster_large = ImageSpecField(
        source="poster",
        processors=[Transpose(), ResizeToFill(480, 720)],
        format="JPEG",
        options={"quality": 82},
    )

    # Review aggregates, stored: changed in the same transaction as the review that
    # changes them (reviews.services), so showing a page never counts or averages
    # over the reviews table. ratings_N counts ratings of N half-stars.
    rating_count = models.PositiveIntegerField(_("ratings"), default=0, editable=False)
    rating_sum = models.PositiveBigIntegerField(_("sum of ratings"), default=0, editable=False)
    text_review_count = models.PositiveIntegerField(
        _("reviews with text"), default=0, editable=False
    )
    ratings_1 = models.PositiveIntegerField(_("0.5-star ratings"), default=0, editable=False)
    ratings_2 = models.PositiveIntegerField(_("1-star ratings"), default=0, editable=False)
    ratings_3 = models.PositiveIntegerField(_("1.5-star ratings"), default=0, editable=False)
    ratings_4 = models.PositiveIntegerField(_("2-star ratings"), default=0, editable=False)
    ratings_5 = models.PositiveIntegerField(_("2.5-star ratings"), default=0, editable=False)
    ratings_6 = models.PositiveIntegerField(_("3-star ratings"), default=0, editable=False)
    ratings_7 = models.PositiveIntegerField(_("3.5-star ratings"), default=0, editable=False)
    ratings_8 = models.PositiveIntegerField(_("4-star ratings"), default=0, editable=False)
    ratings_9 = models.PositiveIntegerField(_("4.5-star ratings"), default=0, editable=False)
    ratings_10 = models.PositiveIntegerField(_("5-star ratings"), default=0, editable=False)
    # The newest staff pick among its reviews, kept by reviews.moderation, so the
    # title page shows it without another query.
    featured_review = models.ForeignKey(
        "reviews.Review",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
        verbose_name=_("featured review"),
    )

    objects = TitleQuerySet.as_manager()
    detail_view = "films:title_detail"

    class Meta:
        ordering = ["franchise_position"]
        verbose_name = _("title")
        verbose_name_plural = _("titles")
        constraints = [
            models.CheckConstraint(
                condition=Q(franchise_position__gte=1),
                name="title_position_positive",
                violation_error_message=_("The position in the franchise starts at 1."),
            ),
            models.CheckConstraint(
                condition=Q(release_year__gte=1900) & Q(release_year__lte=2100),
                name="title_release_year_plausible",
                violation_error_message=_("The year must be between 1900 and 2100."),
            ),
            models.CheckConstraint(
                condition=Q(runtime_minutes__isnull=True) | Q(runtime_minutes__gte=1),
                name="title_runtime_positive",
                violation_error_message=_("The runtime must be at least one minute."),
            ),
            models.CheckConstraint(
                condition=Q(kind="series") | Q(seasons__isnull=True),
                name="title_only_series_have_seasons",
                violation_error_message=_(
                    "Only a series has seasons; leave seasons blank for a film."
                ),
            ),
            models.CheckConstraint(
                condition=Q(seasons__isnull=True) | Q(seasons__gte=1),
                name="title_seasons_positive",
                violation_error_message=_("A series has at least one season."),
            ),
            models.CheckConstraint(
                condition=Q(kind__in=["film", "series"]),
                name="title_kind_valid",
                violation_error_message=_("A title is a film or a series."),
            ),
            # English is the catalog's source language (films/translation.py): every title
            # has its English name, the other languages falling back to it.
            models.CheckConstraint(
                condition=Q(name_en__isnull=False) & ~Q(name_en=""),
                name="title_name_en_not_empty",
                violation_error_message=_("A title needs its English name."),
            ),
        ]

    def save(self, *args, **kwargs):
        if self.poster and not self.poster._committed:
            # A new upload: only its pixels are stored (films.images), under this title's name.
            self.poster = reencoded_image(self.poster, name=self.slug or "poster")
        super().save(*args, **kwargs)
        stored = getattr(self, "_stored_poster_name", "")
        if stored and stored != (self.poster.name or ""):
            # Replaced or cleared: the old file and its resized copies go, once the new
            # name is committed (until then a rollback would point at them again).
            transaction.on_commit(functools.partial(delete_poster_files, stored), robust=True)
            # The resized copies were computed from the old poster.
            for copy in ("poster_thumbnail", "poster_large"):
                self.__dict__.pop(copy, None)
        self._stored_poster_name = self.poster.name or ""

    @classmethod
    def from_db(cls, db, field_names, values):
        # The poster stored now, so that a save replacing it can remove the old files.
        title = super().from_db(db, field_names, values)
        if "poster" in field_names:
            title._stored_poster_name = values[field_names.index("poster")] or ""
        return title

    def clean(self):
        # Not a database constraint: extracting a year from a date in a CHECK needs a
        # function SQLite only has inside Django's own connections.
        if self.release_date and self.release_year and self.release_date.year != self.release_year:
            raise ValidationError(
                {"release_date": _("The release date must fall in the year given above.")}
            )

    @property
    def is_series(self):
        return self.kind == self.Kind.SERIES

    @property
    def rating_histogram(self):
        """The ten half-star buckets of the stored counts (half_star_histogram)."""
        return half_star_histogram(
            {value: getattr(self, f"ratings_{value}") for value in RATING_VALUES}
        )

    @property
    def generated_poster_url(self):
        return reverse("films:generated_poster", kwargs={"slug": self.slug})

    @property
    def poster_url(self):
        """The full-size poster, or the generated one until staff upload an image."""
        return self.poster.url if self.poster else self.generated_poster_url

    @property
    def poster_thumbnail_url(self):
        """The resized copy lists show, or the generated poster."""
        return self.poster_thumbnail.url if self.poster else self.generated_poster_url

    @property
    def poster_large_url(self):
        """The resized copy the title page shows, or the generated poster."""
        return self.poster_large.url if self.poster else self.generated_poster_url


class PersonQuerySet(NamedQuerySet):
    def with_career(self):
        return self.prefetch_related(
            models.Prefetch("credits", Credit.objects.select_related("title", "character")),
            models.Prefetch(
                "crew_memberships",
                CrewMembership.objects.select_related("crew", "title", "character"),
            ),
            models.Prefetch("choreographed_routines", Routine.objects.select_related("title")),
            models.Prefetch(
                "routines_danced",
                RoutineDancer.objects.select_related("routine__title", "character"),
            ),
        )


class Person(CatalogEntry):
    """Someone who worked on the franchise: actor, dancer, director, choreographer, writer."""

    name = models.CharField(_("name"), max_length=200)
    slug = models.SlugField(_("slug"), max_length=200, unique=True)
    bio = models.TextField(_("short bio"), blank=True)

    objects = PersonQuerySet.as_manager()

    detail_view = "films:person_detail"

    class Meta(CatalogEntry.Meta):
        verbose_name = _("person")
        verbose_name_plural = _("people")


class CharacterQuerySet(NamedQuerySet):
    def with_appearances(self):
        return self.prefetch_related(
            models.Prefetch("credits", Credit.objects.select_related("title", "person")),
            models.Prefetch(
                "crew_memberships", CrewMembership.objects.select_related("crew", "title")
            ),
            models.Prefetch(
                "routines_danced", RoutineDancer.objects.select_related("routine__title", "person")
            ),
        )


class Character(CatalogEntry):
    """A character of the story, who may appear in several titles."""

    name = models.CharField(_("name"), max_length=200)
    slug = models.SlugField(_("slug"), max_length=200, unique=True)
    description = models.TextField(_("description"), blank=True)

    objects = CharacterQuerySet.as_manager()

    detail_view = "films:character_detail"

    class Meta(CatalogEntry.Meta):
        verbose_name = _("character")
        verbose_name_plural = _("characters")


class CreditQuerySet(models.QuerySet):
    def cast(self):
        return self.filter(role=Credit.Role.CAST)

    def crew(self):
        return self.exclude(role=Credit.Role.CAST)


class Credit(models.Model):
    """A person's part in a title: a crew job, or a character played."""

    class Role(models.TextChoices):
        DIRECTOR = "director", _("Director")
        WRITER = "writer", _("Writer")
        CHOREOGRAPHER = "choreographer", _("Choreographer")
        PRODUCER = "producer", _("Producer")
        CREATOR = "creator", pgettext_lazy("credit role of a series", "Creator")
        CAST = "cast", _("Cast")

    title = models.ForeignKey(
        Title, on_delete=models.CASCADE, related_name="credits", verbose_name=_("title")
    )
    person = models.ForeignKey(
        Person, on_delete=models.CASCADE, related_name="credits", verbose_name=_("person")
    )
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    character = models.ForeignKey(
        Character,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="credits",
        verbose_name=_("character"),
        help_text=_("Cast only: the character played."),
    )
    billing = models.PositiveSmallIntegerField(
        _("billing order"), default=100, help_text=_("Lower numbers are listed first.")
    )

    objects = CreditQuerySet.as_manager()

    class Meta:
        ordering = ["title__franchise_position", "billing", "id"]
        verbose_name = _("credit")
        verbose_name_plural = _("credits")
        constraints = [
            models.CheckConstraint(
                condition=Q(role="cast", character__isnull=False)
                | (~Q(role="cast") & Q(character__isnull=True)),
                name="credit_character_iff_cast",
                violation_error_message=_(
                    "A cast credit names the character played; other jobs name no character."
                ),
            ),
            models.UniqueConstraint(
                fields=["title", "person", "character"],
                condition=Q(role="cast"),
                name="credit_unique_cast_role",
                violation_error_message=_(
                    "This person already plays this character in this title."
                ),
            ),
            models.UniqueConstraint(
                fields=["title", "person", "role"],
                condition=~Q(role="cast"),
                name="credit_unique_crew_job",
                violation_error_message=_("This person already has this job on this title."),
            ),
        ]

    def __str__(self):
        if self.character_id:
            return _("%(person)s as %(character)s in %(title)s") % {
                "person": self.person,
                "character": self.character,
                "title": self.title,
            }
        return _("%(person)s (%(role)s, %(title)s)") % {
            "person": self.person,
            "role": self.get_role_display(),
            "title": self.title,
        }

    def get_absolute_url(self):
        return self.title.get_absolute_url()

    @classmethod
    def job_heading(cls, role, count):
        """ "Director" or "Directors", as the title page lists the people holding a job."""
        # A context of their own: the singular words are also the roles' names (Role).
        headings = {
            cls.Role.DIRECTOR: lambda: npgettext("job heading", "Director", "Directors", count),
            cls.Role.WRITER: lambda: npgettext("job heading", "Writer", "Writers", count),
            cls.Role.CHOREOGRAPHER: lambda: npgettext(
                "job heading", "Choreographer", "Choreographers", count
            ),
            cls.Role.PRODUCER: lambda: npgettext("job heading", "Producer", "Producers", count),
            cls.Role.CREATOR: lambda: npgettext("job heading", "Creator", "Creators", count),
        }
        return headings[role]()


class CrewQuerySet(NamedQuerySet):
    def with_line_ups(self):
        return self.prefetch_related(
            models.Prefetch(
                "memberships",
                CrewMembership.objects.select_related("title", "person", "character").order_by(
                    "title__franchise_position", "person__name"
                ),
            ),
            models.Prefetch("routines", Routine.objects.select_related("title")),
        )


class Crew(CatalogEntry):
    """A dance crew of the films: LMNTRIX, The Mob, the House of Pirates, ..."""

    name = models.CharField(_("name"), max_length=200, unique=True)
    slug = models.SlugField(_("slug"), max_length=200, unique=True)
    description = models.TextField(_("description"), blank=True)

    objects = CrewQuerySet.as_manager()

    detail_view = "films:crew_detail"

    class Meta(CatalogEntry.Meta):
        verbose_name = _("dance crew")
        verbose_name_plural = _("dance crews")


class CrewMembership(models.Model):
    """Who danced in a crew in a given title (a crew's line-up changes from film to film)."""

    crew = models.ForeignKey(
        Crew, on_delete=models.CASCADE, related_name="memberships", verbose_name=_("crew")
    )
    title = models.ForeignKey(
        Title, on_delete=models.CASCADE, related_name="crew_memberships", verbose_name=_("title")
    )
    person = models.ForeignKey(
        Person,
        on_delete=models.CASCADE,
        related_name="crew_memberships",
        verbose_name=_("person"),
    )
    character = models.ForeignKey(
        Character,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="crew_memberships",
        verbose_name=_("as character"),
    )

    class Meta:
        ordering = ["title__franchise_position", "crew__name", "person__name"]
        verbose_name = _("crew member")
        verbose_name_plural = _("crew members")
        constraints = [
            models.UniqueConstraint(
                fields=["crew", "title", "person"],
                name="crew_membership_unique",
                violation_error_message=_("This person is already in this crew for this title."),
            ),
        ]

    def __str__(self):
        return _("%(person)s in %(crew)s (%(title)s)") % {
            "person": self.person,
            "crew": self.crew,
            "title": self.title,
        }

    def get_absolute_url(self):
        return self.crew.get_absolute_url()


class RoutineQuerySet(NamedQuerySet):
    def with_page_parts(self):
        """What a routine's page and the leaderboard show of each: its title, crews, dancers."""
        return self.select_related("title").prefetch_related(
            "crews",
            models.Prefetch("dancers", RoutineDancer.objects.select_related("person", "character")),
        )


class Routine(StoredRatings, SearchableName):
    """A dance number of a title, which members rate on the site's half-star scale.

    Its stored rating count and sum, and how many published reviews name it their title's
    best routine, are kept by the reviews app's writes in the same transaction (as a title's
    rating aggregates are), so no page counts the ratings or reviews tables.
    """

    title = models.ForeignKey(
        Title, on_delete=models.CASCADE, related_name="routines", verbose_name=_("title")
    )
    name = models.CharField(_("name"), max_length=200)
    # Unique across the franchise: a routine's page is /routines/<slug>/.
    slug = models.SlugField(_("slug"), max_length=200, unique=True)
    order = models.PositiveSmallIntegerField(
        _("order"), default=0, help_text=_("Its place in the title's running order.")
    )
    description = models.TextField(_("description"), blank=True)
    choreographers = models.ManyToManyField(
        Person, blank=True, related_name="choreographed_routines", verbose_name=_("choreographers")
    )
    crews = models.ManyToManyField(
        Crew, blank=True, related_name="routines", verbose_name=_("crews dancing")
    )
    rating_count = models.PositiveIntegerField(_("ratings"), default=0, editable=False)
    rating_sum = models.PositiveIntegerField(_("sum of ratings"), default=0, editable=False)
    best_routine_count = models.PositiveIntegerField(
        _("named best routine"), default=0, editable=False
    )

    # Kept by the reviews app's F() updates alone. A catalog edit (the admin, the loader)
    # saves a copy read before it, and would otherwise write back the counts it read,
    # undoing every rating made meanwhile.
    STORED_COUNTS = frozenset({"rating_count", "rating_sum", "best_routine_count"})

    objects = RoutineQuerySet.as_manager()

    class Meta:
        ordering = ["title__franchise_position", "order", "id"]
        verbose_name = _("dance routine")
        verbose_name_plural = _("dance routines")
        constraints = [
            models.CheckConstraint(
                condition=Q(rating_sum__lte=models.F("rating_count") * 10)
                & Q(rating_sum__gte=models.F("rating_count")),
                name="routine_rating_sum_in_range",
                violation_error_message=_("The stored ratings of a routine are out of step."),
            ),
        ]

    def __str__(self):
        return _("%(routine)s (%(title)s)") % {"routine": self.name, "title": self.title}

    def save(self, *args, **kwargs):
        if not self._state.adding and kwargs.get("update_fields") is None and not args:
            kwargs["update_fields"] = [
                field.name
                for field in self._meta.concrete_fields
                if not field.primary_key and field.name not in self.STORED_COUNTS
            ]
        super().save(*args, **kwargs)

    def get_absolute_url(self):
        return reverse("films:routine_detail", kwargs={"slug": self.slug})


class RoutineDancer(models.Model):
    """Someone who dances in a routine, and the character they dance it as, if any."""

    routine = models.ForeignKey(
        Routine, on_delete=models.CASCADE, related_name="dancers", verbose_name=_("routine")
    )
    person = models.ForeignKey(
        Person, on_delete=models.CASCADE, related_name="routines_danced", verbose_name=_("dancer")
    )
    character = models.ForeignKey(
        Character,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="routines_danced",
        verbose_name=_("as character"),
        help_text=_("Leave blank when they dance as themselves or as an unnamed dancer."),
    )
    order = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        ordering = ["routine", "order", "id"]
        verbose_name = _("dancer")
        verbose_name_plural = _("dancers")
        constraints = [
            models.UniqueConstraint(
                fields=["routine", "person"],
                name="routine_dancer_once",
                violation_error_message=_("This person is already a dancer of this routine."),
            ),
        ]

    def __str__(self):
        if self.character_id:
            return _("%(person)s as %(character)s in %(routine)s") % {
                "person": self.person,
                "character": self.character,
                "routine": self.routine.name,
            }
        return _("%(person)s in %(routine)s") % {
            "person": self.person,
            "routine": self.routine.name,
        }

    def get_absolute_url(self):
        return self.routine.get_absolute_url()


class Trivia(models.Model):
    title = models.ForeignKey(
        Title, on_delete=models.CASCADE, related_name="trivia", verbose_name=_("title")
    )
    text = models.TextField(_("text"))
    order = models.PositiveSmallIntegerField(_("order"), default=0)
    source = models.CharField(
        _("source"), max_length=300, blank=True, help_text=_("Where the fact comes from.")
    )

    class Meta:
        ordering = ["title__franchise_position", "order", "id"]
        verbose_name = _("trivia item")
        verbose_name_plural = _("trivia")
        constraints = [
            models.CheckConstraint(
                condition=~Q(text=""),
                name="trivia_text_not_empty",
                violation_error_message=_("A trivia item needs its text."),
            ),
            # English is the source language (films/translation.py): the Spanish text may wait.
            models.CheckConstraint(
                condition=Q(text_en__isnull=False) & ~Q(text_en=""),
                name="trivia_text_en_not_empty",
                violation_error_message=_("A trivia item needs its English text."),
            ),
        ]

    def __str__(self):
        return self.text if len(self.text) <= 60 else f"{self.text[:59]}…"

    def get_absolute_url(self):
        return f"{self.title.get_absolute_url()}#trivia"


class CatalogSeedRecord(models.Model):
    """A catalog entry the loader has created once, so it never creates it again.

    Loading the catalog only adds entries it has never added: a row staff deleted or
    reworded in the admin is their curation, and stays as they left it.
    """

    key = models.CharField(_("key"), max_length=300, unique=True)
    loaded_at = models.DateTimeField(_("loaded at"), auto_now_add=True)

    class Meta:
        ordering = ["key"]
        verbose_name = _("catalog seed record")
        verbose_name_plural = _("catalog seed records")

    def __str__(self):
        return self.key

    def get_absolute_url(self):
        return reverse("admin:films_catalogseedrecord_changelist")


@receiver(post_delete, sender=Title)
def _delete_the_posters_files(sender, instance, **kwargs):
    # A receiver, not Title.delete(): a queryset's delete (the admin's bulk action) calls no
    # model's delete() but sends post_delete for every row.
    if instance.poster:
        transaction.on_commit(
            functools.partial(delete_poster_files, instance.poster.name), robust=True
        )
