"""Ratings and reviews of titles, with helpful votes, comments and reports."""

from datetime import UTC

from django.conf import settings
from django.db import models
from django.db.models import Q, Value
from django.db.models.functions import Length, TruncMonth
from django.db.models.lookups import GreaterThan, LessThanOrEqual
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from .validators import validate_visible_text

REVIEW_BODY_MAX_LENGTH = 10_000
REVIEW_HEADLINE_MAX_LENGTH = 150
COMMENT_MAX_LENGTH = 2_000
REPORT_NOTE_MAX_LENGTH = 1_000


# Each sort is a key of columns, all in one direction, ending with the id so no two rows
# tie: what keyset pagination needs, and what the (title, status, *key) indexes serve.
# "lowest" is "highest" read backwards, so ties among equal ratings come oldest first.
REVIEW_SORT_KEYS = {
    "helpful": (("helpful_count", "created_at", "id"), "descending"),
    "newest": (("created_at", "id"), "descending"),
    "highest": (("rating", "created_at", "id"), "descending"),
    "lowest": (("rating", "created_at", "id"), "ascending"),
}
DEFAULT_REVIEW_SORT = "helpful"


class Status(models.TextChoices):
    PUBLISHED = "published", _("Published")
    PENDING = "pending", _("Pending approval")
    REMOVED = "removed", _("Removed")


class ModeratedQuerySet(models.QuerySet):
    def published(self):
        return self.filter(status=Status.PUBLISHED)

    def visible_to(self, user):
        """What a reader may see: everything published, and their own items whatever
        their status (so an author sees their pending or removed review, with the reason)."""
        if user.is_authenticated:
            return self.filter(Q(status=Status.PUBLISHED) | Q(author=user))
        return self.published()


class Moderated(models.Model):
    """Status of member content. Only published items are public or counted anywhere."""

    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PUBLISHED
    )
    moderation_reason = models.TextField(_("moderator's reason"), blank=True)
    moderated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("moderated by"),
    )
    moderated_at = models.DateTimeField(_("moderated at"), null=True, blank=True)
    # Removed only because its author was suspended: lifting the suspension restores it.
    hidden_by_suspension = models.BooleanField(default=False, editable=False)

    class Meta:
        abstract = True
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=Status.values),
                name="%(class)s_status_valid",
                violation_error_message=_("The status is published, pending or removed."),
            ),
            models.CheckConstraint(
                condition=~Q(status=Status.REMOVED) | ~Q(moderation_reason=""),
                name="%(class)s_removal_has_reason",
                violation_error_message=_("Removing needs a reason."),
            ),
        ]

    @property
    def is_published(self):
        return self.status == Status.PUBLISHED

    @property
    def was_edited(self):
        # A minute's grace: saving twice in quick succession is not an edit worth showing.
        # Every subclass has created_at and updated_at.
        return (self.updated_at - self.created_at).total_seconds() > 60


class ReviewQuerySet(ModeratedQuerySet):
    def featured(self):
        return self.published().filter(is_featured=True).order_by("-featured_at", "-id")

    def with_text(self):
        return self.exclude(body="")

    def for_listing(self):
        return self.select_related("author", "title", "best_routine")


def review_language_codes():
    """The languages a review may be written in: the site's (settings.LANGUAGES)."""
    return [code for code, _name in settings.LANGUAGES]


class Review(Moderated):
    """One member's rating of a title, with optional text: one per member per title."""

    title = models.ForeignKey(
        "films.Title", on_delete=models.CASCADE, related_name="reviews", verbose_name=_("title")
    )
    # PROTECT: a member leaves through accounts.services.account_delete, which keeps the
    # stored counts right; a bare user.delete() would cascade past them.
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="reviews",
        verbose_name=_("author"),
    )
    # Half-stars: 1 is half a star, 10 is five stars.
    rating = models.PositiveSmallIntegerField(_("rating"))
    headline = models.CharField(
        _("headline"),
        max_length=REVIEW_HEADLINE_MAX_LENGTH,
        blank=True,
        validators=[validate_visible_text],
    )
    body = models.TextField(_("review"), blank=True, validators=[validate_visible_text])
    contains_spoilers = models.BooleanField(_("contains spoilers"), default=False)
    # The language the member wrote in: the title page lists the reader's language first.
    language = models.CharField(
        _("language"), max_length=7, choices=settings.LANGUAGES, default="en"
    )
    # One of this title's routines (reviews.services refuses another title's); counted in
    # the routine's stored best_routine_count while the review is published.
    best_routine = models.ForeignKey(
        "films.Routine",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="named_best_in",
        verbose_name=_("best routine"),
    )
    helpful_count = models.PositiveIntegerField(_("helpful votes"), default=0, editable=False)
    comment_count = models.PositiveIntegerField(_("comments"), default=0, editable=False)
    is_featured = models.BooleanField(_("staff pick"), default=False)
    featured_at = models.DateTimeField(_("picked at"), null=True, blank=True)
    created_at = models.DateTimeField(_("posted"), auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(_("edited"), auto_now=True)

    objects = ReviewQuerySet.as_manager()

    class Meta(Moderated.Meta):
        ordering = ["-created_at", "-id"]
        verbose_name = _("review")
        verbose_name_plural = _("reviews")
        constraints = [
            *Moderated.Meta.constraints,
            models.UniqueConstraint(
                fields=["title", "author"],
                name="review_one_per_author_per_title",
                violation_error_message=_("You have already reviewed this title."),
            ),
            models.CheckConstraint(
                condition=Q(rating__gte=1, rating__lte=10),
                name="review_rating_half_star_to_five_stars",
                violation_error_message=_("A rating is from half a star to five stars."),
            ),
            models.CheckConstraint(
                condition=Q(headline="") | ~Q(body=""),
                name="review_headline_needs_text",
                violation_error_message=_("A headline needs a review under it."),
            ),
            models.CheckConstraint(
                condition=LessThanOrEqual(Length("body"), REVIEW_BODY_MAX_LENGTH),
                name="review_body_length_limit",
                violation_error_message=_("A review can be at most 10,000 characters long."),
            ),
            models.CheckConstraint(
                condition=Q(is_featured=False) | Q(status=Status.PUBLISHED),
                name="review_only_published_featured",
                violation_error_message=_("Only a published review can be a staff pick."),
            ),
            models.CheckConstraint(
                condition=Q(language__in=review_language_codes()),
                name="review_language_valid",
                violation_error_message=_("A review is written in one of the site's languages."),
            ),
        ]
        indexes = [
            # A routine's page lists the newest reviews naming it best: without this the
            # search walks every published review (400 ms at 1M reviews when none names it).
            models.Index(
                fields=["best_routine", "status", "-created_at", "-id"],
                name="review_best_routine_newest",
                condition=Q(best_routine__isnull=False),
            ),
            # One per sort key: the title page seeks straight to its page of reviews.
            models.Index(
                fields=["title", "status", "helpful_count", "created_at", "id"],
                name="review_title_helpful_seek",
            ),
            models.Index(
                fields=["title", "status", "created_at", "id"], name="review_title_newest_seek"
            ),
            models.Index(
                fields=["title", "status", "rating", "created_at", "id"],
                name="review_title_rating_seek",
            ),
            # The same seeks among the reviews listed in one language (published, with text:
            # only what the list shows, so the indexes stay small). The newest one also
            # answers the count per language of a title's listed reviews from the index alone.
            models.Index(
                fields=["title", "language", "helpful_count", "created_at", "id"],
                condition=Q(status=Status.PUBLISHED) & ~Q(body=""),
                name="review_lang_helpful_seek",
            ),
            models.Index(
                fields=["title", "language", "created_at", "id"],
                condition=Q(status=Status.PUBLISHED) & ~Q(body=""),
                name="review_lang_newest_seek",
            ),
            models.Index(
                fields=["title", "language", "rating", "created_at", "id"],
                condition=Q(status=Status.PUBLISHED) & ~Q(body=""),
                name="review_lang_rating_seek",
            ),
            models.Index(fields=["author", "-created_at"], name="review_author_newest"),
            models.Index(fields=["status", "-created_at"], name="review_status_newest"),
            # The home page's staff picks, newest first: a handful of rows among a million,
            # found without reading the others (the soak showed a full scan otherwise).
            # Status leads so SQLite's planner, which prefers an index it can seek by
            # equality, takes this one over review_status_newest.
            models.Index(
                fields=["status", "-featured_at", "-id"],
                condition=Q(is_featured=True),
                name="review_staff_picks_newest",
            ),
            models.Index(
                fields=["title", "status", "-featured_at", "-id"],
                condition=Q(is_featured=True),
                name="review_title_staff_picks",
            ),
        ]

    def __str__(self):
        return _("%(author)s on %(title)s") % {"author": self.author, "title": self.title}

    def save(self, *args, **kwargs):
        super().save(*args, **kwargs)
        update_fields = kwargs.get("update_fields")
        if update_fields is None or "best_routine" in update_fields:
            self._loaded_best_routine_id = self.best_routine_id

    def get_absolute_url(self):
        return reverse("reviews:detail", kwargs={"pk": self.pk})

    @classmethod
    def from_db(cls, db, field_names, values):
        review = super().from_db(db, field_names, values)
        # The routine it named as read: a save naming another one changes both routines'
        # pages (the scope map reads this; the saved row only has the new one).
        review._loaded_best_routine_id = review.__dict__.get("best_routine_id")
        return review

    @property
    def has_text(self):
        return bool(self.body)

    @property
    def stars(self):
        return self.rating / 2


class RoutineRating(models.Model):
    """One member's rating of a dance routine, on the half-star scale: one per member per
    routine. The routine's stored count and sum change in the same transaction."""

    routine = models.ForeignKey(
        "films.Routine", on_delete=models.CASCADE, related_name="ratings", verbose_name=_("routine")
    )
    member = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="routine_ratings",
        verbose_name=_("member"),
    )
    rating = models.PositiveSmallIntegerField(_("rating"))
    created_at = models.DateTimeField(_("rated"), auto_now_add=True)
    updated_at = models.DateTimeField(_("changed"), auto_now=True)

    class Meta:
        ordering = ["-updated_at", "-id"]
        verbose_name = _("routine rating")
        verbose_name_plural = _("routine ratings")
        constraints = [
            models.UniqueConstraint(
                fields=["routine", "member"],
                name="routine_rating_one_per_member",
                violation_error_message=_("You have already rated this routine."),
            ),
            models.CheckConstraint(
                condition=Q(rating__gte=1, rating__lte=10),
                name="routine_rating_half_star_to_five_stars",
                violation_error_message=_("A rating is from half a star to five stars."),
            ),
        ]

    def __str__(self):
        return _("%(member)s rated %(routine)s %(stars)s stars") % {
            "member": self.member,
            "routine": self.routine.name,
            "stars": self.stars,
        }

    def get_absolute_url(self):
        return self.routine.get_absolute_url()

    @property
    def stars(self):
        return self.rating / 2


class TitleLanguageCountQuerySet(models.QuerySet):
    def of_title(self, title):
        """{"es": 12, "en": 230}: the title's listed reviews by language (none at 0)."""
        rows = self.filter(title=title, review_count__gt=0).order_by()
        return dict(rows.values_list("language", "review_count"))


class TitleLanguageCount(models.Model):
    """How many of a title's reviews its page lists (published, with text) in one language:
    the counts of the language switch ("Español (2) · English (3)").

    Stored, not counted per page view: a GROUP BY over All In's listed reviews took 30 ms,
    and a cached one ran again after every vote or comment on the title. reviews.counts
    keeps the rows in the same transaction as every write that moves a review in or out of
    the list, by increments in the database itself (an upsert: the first review of a title
    in a language inserts its row); services.title_language_counts_recount counts afresh.
    A row at zero stays (a language whose reviews all went).
    """

    title = models.ForeignKey(
        "films.Title",
        on_delete=models.CASCADE,
        related_name="language_counts",
        verbose_name=_("title"),
    )
    language = models.CharField(_("language"), max_length=7, choices=settings.LANGUAGES)
    review_count = models.IntegerField(_("listed reviews"), default=0)

    objects = TitleLanguageCountQuerySet.as_manager()

    class Meta:
        verbose_name = _("title's reviews in a language")
        verbose_name_plural = _("titles' reviews by language")
        constraints = [
            models.UniqueConstraint(
                fields=["title", "language"], name="title_language_count_one_per_language"
            ),
            # A decrement past zero means a count drifted: refused, never stored.
            models.CheckConstraint(
                condition=Q(review_count__gte=0), name="title_language_count_not_negative"
            ),
        ]

    def __str__(self):
        return f"{self.title_id} {self.language}: {self.review_count}"


def month_of(moment):
    """The month a review counts in, as the first day of that month in UTC: the month it
    was first posted (an edit of its rating changes its month's sum, not its month)."""
    return moment.astimezone(UTC).date().replace(day=1)


def review_month():
    """month_of as a database expression over Review.created_at, for GROUP BY."""
    return TruncMonth("created_at", output_field=models.DateField(), tzinfo=UTC)


class TitleMonthQuerySet(models.QuerySet):
    def series(self, title_id):
        """A title's months with at least one published rating, oldest first."""
        return self.filter(title_id=title_id, rating_count__gt=0).order_by("month")


class TitleMonth(models.Model):
    """A title's published ratings of one month, stored: how many, and their sum in
    half-stars. Kept by reviews.counts in the same transaction as the title's own stored
    counts, so the title page's chart of ratings over time never aggregates the reviews
    table (250,000 reviews on one title). A month whose last rating went stays as a row
    with zero ratings; reads skip it. (That `month` is a first day is not a CHECK: SQLite
    extracts a day only inside Django's own connections; month_of is the one writer.)"""

    title = models.ForeignKey(
        "films.Title", on_delete=models.CASCADE, related_name="+", verbose_name=_("title")
    )
    month = models.DateField(_("month"), help_text=_("The first day of the month, in UTC."))
    rating_count = models.PositiveIntegerField(_("ratings"), default=0)
    rating_sum = models.PositiveBigIntegerField(_("sum of ratings"), default=0)

    objects = TitleMonthQuerySet.as_manager()

    class Meta:
        ordering = ["title", "month"]
        verbose_name = _("title's month of ratings")
        verbose_name_plural = _("titles' months of ratings")
        constraints = [
            models.UniqueConstraint(fields=["title", "month"], name="title_month_unique"),
            # Each rating is 1 to 10 half-stars.
            models.CheckConstraint(
                condition=Q(rating_sum__lte=models.F("rating_count") * 10)
                & Q(rating_sum__gte=models.F("rating_count")),
                name="title_month_sum_within_scale",
            ),
        ]

    def __str__(self):
        return f"{self.title_id} {self.month:%Y-%m}: {self.rating_count}"

    @property
    def rating_average(self):
        """In stars, or None for a month whose ratings all went."""
        return self.rating_sum / self.rating_count / 2 if self.rating_count else None


class HelpfulVoteQuerySet(models.QuerySet):
    def review_ids_voted_by(self, user, reviews):
        """Which of these reviews the reader has marked helpful (one query, or none)."""
        return self.ids_voted_by(user, [review.pk for review in reviews if review is not None])

    def ids_voted_by(self, user, review_ids):
        if not user.is_authenticated or user.pk is None or not review_ids:
            return set()
        return set(
            self.filter(voter=user, review_id__in=review_ids)
            .order_by()
            .values_list("review_id", flat=True)
        )

    def marks_by(self, user, review_ids):
        """Which of these reviews the reader has marked helpful, and which they have
        reported: (voted ids, reported ids), in one query."""
        review_ids = [pk for pk in review_ids if pk is not None]
        if not user.is_authenticated or user.pk is None or not review_ids:
            return set(), set()
        votes = (
            self.filter(voter=user, review_id__in=review_ids)
            .order_by()
            .annotate(reported=Value(False))
            .values_list("review_id", "reported")
        )
        reports = (
            Report.objects.filter(reporter=user, review_id__in=review_ids)
            .order_by()
            .annotate(reported=Value(True))
            .values_list("review_id", "reported")
        )
        voted, reported = set(), set()
        for review_id, was_reported in votes.union(reports, all=True):
            (reported if was_reported else voted).add(review_id)
        return voted, reported


class HelpfulVote(models.Model):
    review = models.ForeignKey(
        Review, on_delete=models.CASCADE, related_name="helpful_votes", verbose_name=_("review")
    )
    voter = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="helpful_votes",
        verbose_name=_("voter"),
    )
    created_at = models.DateTimeField(_("voted"), auto_now_add=True)

    objects = HelpfulVoteQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("helpful vote")
        verbose_name_plural = _("helpful votes")
        constraints = [
            models.UniqueConstraint(
                fields=["review", "voter"],
                name="helpful_vote_once_per_review",
                violation_error_message=_("You have already marked this review helpful."),
            ),
        ]

    def __str__(self):
        return _("%(voter)s found %(review)s helpful") % {
            "voter": self.voter,
            "review": self.review,
        }

    def get_absolute_url(self):
        return self.review.get_absolute_url()


class Comment(Moderated):
    """A reply in the flat thread under a review."""

    review = models.ForeignKey(
        Review, on_delete=models.CASCADE, related_name="comments", verbose_name=_("review")
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="comments",
        verbose_name=_("author"),
    )
    body = models.TextField(_("comment"), validators=[validate_visible_text])
    created_at = models.DateTimeField(_("posted"), auto_now_add=True)
    updated_at = models.DateTimeField(_("edited"), auto_now=True)

    objects = ModeratedQuerySet.as_manager()

    class Meta(Moderated.Meta):
        ordering = ["created_at", "id"]
        verbose_name = _("comment")
        verbose_name_plural = _("comments")
        constraints = [
            *Moderated.Meta.constraints,
            models.CheckConstraint(
                condition=GreaterThan(Length("body"), 0)
                & LessThanOrEqual(Length("body"), COMMENT_MAX_LENGTH),
                name="comment_length_limit",
                violation_error_message=_("A comment is from 1 to 2,000 characters long."),
            ),
        ]

    def __str__(self):
        return _("Comment by %(author)s on %(review)s") % {
            "author": self.author,
            "review": self.review,
        }

    def get_absolute_url(self):
        return f"{self.review.get_absolute_url()}#comment-{self.pk}"


class ReportQuerySet(models.QuerySet):
    def open(self):
        return self.filter(resolved_at__isnull=True)

    def comment_ids_reported_by(self, member, *, review):
        """The comments on `review` that `member` has reported: none for a visitor."""
        if not member.is_authenticated:
            return self.none().values_list("comment_id", flat=True)
        return self.filter(reporter=member, comment__review=review).values_list(
            "comment_id", flat=True
        )


class ReportReason(models.TextChoices):
    SPOILERS = "spoilers", _("Unmarked spoilers")
    ABUSE = "abuse", _("Abuse or harassment")
    SPAM = "spam", _("Spam")
    OFF_TOPIC = "off_topic", _("Off-topic")
    OTHER = "other", _("Something else")


class Report(models.Model):
    """A member's report of a review or a comment, for the moderators."""

    Reason = ReportReason

    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="reports",
        verbose_name=_("reported by"),
    )
    review = models.ForeignKey(
        Review,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="reports",
        verbose_name=_("review"),
    )
    comment = models.ForeignKey(
        Comment,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="reports",
        verbose_name=_("comment"),
    )
    reason = models.CharField(_("reason"), max_length=20, choices=Reason.choices)
    note = models.TextField(_("note"), blank=True)
    created_at = models.DateTimeField(_("reported"), auto_now_add=True)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("resolved by"),
    )

    objects = ReportQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("report")
        verbose_name_plural = _("reports")
        constraints = [
            models.CheckConstraint(
                condition=Q(review__isnull=False, comment__isnull=True)
                | Q(review__isnull=True, comment__isnull=False),
                name="report_targets_one_item",
                violation_error_message=_("A report is about one review or one comment."),
            ),
            models.UniqueConstraint(
                fields=["reporter", "review"],
                condition=Q(review__isnull=False),
                name="report_review_once_per_member",
                violation_error_message=_("You have already reported this review."),
            ),
            models.UniqueConstraint(
                fields=["reporter", "comment"],
                condition=Q(comment__isnull=False),
                name="report_comment_once_per_member",
                violation_error_message=_("You have already reported this comment."),
            ),
            models.CheckConstraint(
                condition=Q(reason__in=ReportReason.values),
                name="report_reason_valid",
                violation_error_message=_("Choose a reason from the list."),
            ),
            models.CheckConstraint(
                condition=LessThanOrEqual(Length("note"), REPORT_NOTE_MAX_LENGTH),
                name="report_note_length_limit",
                violation_error_message=_("A note can be at most 1,000 characters long."),
            ),
        ]

    def __str__(self):
        return _("%(reason)s: %(item)s") % {
            "reason": self.get_reason_display(),
            "item": self.review or self.comment,
        }

    def get_absolute_url(self):
        return self.item.get_absolute_url()

    @property
    def item(self):
        return self.review or self.comment


class ModerationAction(models.Model):
    """The audit trail: who did what to which item or account, when and why. Never edited."""

    class Kind(models.TextChoices):
        APPROVE = "approve", _("Approved")
        HOLD = "hold", _("Held for approval")
        REMOVE = "remove", _("Removed")
        RESTORE = "restore", _("Restored")
        FEATURE = "feature", _("Made a staff pick")
        UNFEATURE = "unfeature", _("No longer a staff pick")
        RESOLVE_REPORTS = "resolve", _("Resolved reports")
        SUSPEND = "suspend", _("Suspended the account")
        UNSUSPEND = "unsuspend", _("Lifted the suspension")

    moderator = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="moderation_actions",
        verbose_name=_("moderator"),
        help_text=_("Empty when the site acted by itself (for example after reports)."),
    )
    # Who acted, in words too: the record keeps saying so after the account is deleted.
    moderator_username = models.CharField(_("moderator's username"), max_length=150, blank=True)
    action = models.CharField(_("action"), max_length=10, choices=Kind.choices)
    review = models.ForeignKey(
        Review,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("review"),
    )
    comment = models.ForeignKey(
        Comment,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("comment"),
    )
    member = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("member concerned"),
    )
    # A snapshot in words, so the record still says what it was about after a deletion.
    subject = models.CharField(_("about"), max_length=300)
    reason = models.TextField(_("reason"), blank=True)
    created_at = models.DateTimeField(_("when"), auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("moderation record")
        verbose_name_plural = _("moderation records")

    def __str__(self):
        return f"{self.get_action_display()}: {self.subject}"

    def get_absolute_url(self):
        return reverse("admin:reviews_moderationaction_change", args=[self.pk])
