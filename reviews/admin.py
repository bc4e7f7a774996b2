"""The moderation queue: reviews, comments and reports, with the actions moderators take.

Every change of status goes through reviews.moderation, so the public counts follow and the
audit trail records who did what and why.
"""

from django.contrib import admin, messages
from django.contrib.admin.views.main import ORDER_VAR, ChangeList
from django.db.models import Case, Count, IntegerField, OuterRef, Prefetch, Q, Subquery, Value, When
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.text import Truncator
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext, ngettext_lazy

from core.admin_actions import ActionWithReasonMixin, ReasonForm
from films.models import Routine

from . import moderation
from .forms import rating_label
from .models import Comment, ModerationAction, Report, Review, RoutineRating, Status


class ReportedFilter(admin.SimpleListFilter):
    title = _("reports")
    parameter_name = "reported"

    def lookups(self, request, model_admin):
        return [("open", _("Open reports")), ("none", _("No open reports"))]

    def queryset(self, request, queryset):
        if self.value() == "open":
            return queryset.filter(open_report_count__gt=0)
        if self.value() == "none":
            return queryset.filter(open_report_count=0)
        return queryset


class QueueChangeList(ChangeList):
    """The list in queue order (pending, then reported, then the rest) until the moderator
    sorts by a column. An `ordering` attribute could only name model fields."""

    def get_ordering(self, request, queryset):
        ordering = super().get_ordering(request, queryset)
        if ORDER_VAR in self.params:
            return ordering
        return ["queue_rank", *ordering]


class RemovalReasonForm(ReasonForm):
    reason_label = _("Reason, sent to each author")


def _count_by_author(model, *, by="author", **filters):
    """Per-row author history as a subquery: no query per row of the list."""
    counted = (
        model.objects.filter(**{by: OuterRef("author")}, **filters)
        .order_by()
        .values(by)
        .annotate(number=Count("pk"))
        .values("number")
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


class ModeratedAdmin(ActionWithReasonMixin, admin.ModelAdmin):
    """Shared by reviews and comments: the queue order, the history, the actions."""

    list_filter = ["status", ReportedFilter, "created_at"]
    search_fields = ["body", "author__username"]
    date_hierarchy = "created_at"
    actions = ["approve", "remove_with_reason", "restore", "resolve_reports"]

    def get_changelist(self, request, **kwargs):
        return QueueChangeList

    def has_add_permission(self, request):
        # Members write on the site, where the counts are kept.
        return False

    def has_delete_permission(self, request, obj=None):
        # Moderators remove (reversibly, with a reason); members delete their own.
        return False

    def has_change_permission(self, request, obj=None):
        # "Change" means the queue's actions, which go through the services. A single item
        # opens read-only: saving the whole row would bypass the counts and the record.
        if obj is not None:
            return False
        return super().has_change_permission(request, obj)

    def get_queryset(self, request):
        open_reports = Q(reports__resolved_at__isnull=True)
        queue = (
            super()
            .get_queryset(request)
            .annotate(
                open_report_count=Count("reports", filter=open_reports, distinct=True),
                author_items=_count_by_author(self.model),
                author_removals=_count_by_author(self.model, status=Status.REMOVED),
                author_routine_ratings=_count_by_author(RoutineRating, by="member"),
                # Pending first, then reported, then the rest, newest first within each.
                queue_rank=Case(
                    When(status=Status.PENDING, then=Value(0)),
                    When(open_report_count__gt=0, then=Value(1)),
                    default=Value(2),
                    output_field=IntegerField(),
                ),
            )
        )
        return queue.prefetch_related(
            Prefetch("reports", Report.objects.open().order_by("created_at"), "open_reports")
        )

    @admin.display(description=_("open reports"), ordering="open_report_count")
    def reports_summary(self, obj):
        if not obj.open_report_count:
            return "—"
        return format_html_join(
            mark_safe("<br>"),
            "{}{}",
            (
                (report.get_reason_display(), f": {report.note}" if report.note else "")
                for report in obj.open_reports
            ),
        )

    @admin.display(description=_("author's history"))
    def author_history(self, obj):
        items = ngettext(
            "%(count)s item, %(removed)s removed",
            "%(count)s items, %(removed)s removed",
            obj.author_items,
        ) % {"count": obj.author_items, "removed": obj.author_removals}
        rated = obj.author_routine_ratings
        if not rated:
            return format_html("{}; {}", items, _("no routine ratings"))
        ratings = ngettext("%(count)s routine rating", "%(count)s routine ratings", rated) % {
            "count": rated
        }
        url = reverse(f"{self.admin_site.name}:reviews_routinerating_changelist")
        return format_html(
            '{}; <a href="{}?member__id__exact={}">{}</a>', items, url, obj.author_id, ratings
        )

    @admin.display(description=_("public page"))
    def public_link(self, obj):
        return format_html('<a href="{}">{}</a>', obj.get_absolute_url(), _("View on site"))

    @admin.display(description=_("text"))
    def excerpt(self, obj):
        return Truncator(obj.body).chars(80) or "—"

    def _moderate(self, request, queryset, status, message, reason=""):
        # message: ngettext_lazy(..., "count"), so its plural follows the number changed.
        changed = 0
        for item in queryset:
            if item.status != status:
                moderation.content_moderate(
                    item=item, status=status, moderator=request.user, reason=reason
                )
                changed += 1
        self.message_user(request, message % {"count": changed}, messages.SUCCESS)

    @admin.action(description=_("Approve (publish)"), permissions=["change"])
    def approve(self, request, queryset):
        done = ngettext_lazy("%(count)s item approved.", "%(count)s items approved.", "count")
        self._moderate(request, queryset.exclude(status=Status.REMOVED), Status.PUBLISHED, done)

    @admin.action(description=_("Restore removed items"), permissions=["change"])
    def restore(self, request, queryset):
        done = ngettext_lazy("%(count)s item restored.", "%(count)s items restored.", "count")
        self._moderate(request, queryset.filter(status=Status.REMOVED), Status.PUBLISHED, done)

    @admin.action(description=_("Remove, with a reason…"), permissions=["change"])
    def remove_with_reason(self, request, queryset):
        count = len(queryset)
        return self.ask_reason_then(
            request,
            queryset,
            form_class=RemovalReasonForm,
            apply=lambda reason: self._moderate(
                request,
                queryset,
                Status.REMOVED,
                ngettext_lazy(
                    "%(count)s item removed; its author was told why.",
                    "%(count)s items removed; the authors were told why.",
                    "count",
                ),
                reason,
            ),
            title=_("Remove with a reason"),
            intro=ngettext(
                "Remove this item. Its author gets an email with the reason.",
                "Remove these %(count)s items. Each author gets an email with the reason.",
                count,
            )
            % {"count": count},
            submit_label=_("Remove"),
        )

    @admin.action(description=_("Resolve their reports"), permissions=["change"])
    def resolve_reports(self, request, queryset):
        resolved = sum(
            moderation.reports_resolve(item=item, moderator=request.user) for item in queryset
        )
        self.message_user(
            request,
            ngettext("%(count)s report resolved.", "%(count)s reports resolved.", resolved)
            % {"count": resolved},
            messages.SUCCESS,
        )


class ReportInline(admin.TabularInline):
    model = Report
    extra = 0
    can_delete = False
    fields = ["reason", "note", "reporter", "created_at", "resolved_at", "resolved_by"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


class ReviewReportInline(ReportInline):
    fk_name = "review"


class CommentReportInline(ReportInline):
    fk_name = "comment"


@admin.register(Review)
class ReviewAdmin(ModeratedAdmin):
    list_display = [
        "title",
        "author",
        "stars",
        "language",
        "status",
        "reports_summary",
        "author_history",
        "excerpt",
        "is_featured",
        "created_at",
        "public_link",
    ]
    list_select_related = ["title", "author"]
    # By language: moderators who read Spanish take the Spanish reviews.
    list_filter = ["status", ReportedFilter, "language", "is_featured", "title", "created_at"]
    search_fields = ["headline", "body", "author__username"]
    actions = [*ModeratedAdmin.actions, "feature", "unfeature"]
    inlines = [ReviewReportInline]
    fields = [
        "title",
        "author",
        "author_history",
        "stars",  # "½ star", never the stored number of half-stars
        "headline",
        "body",
        "contains_spoilers",
        "language",
        "status",
        "moderation_reason",
        "moderated_by",
        "moderated_at",
        "is_featured",
        "helpful_count",
        "comment_count",
        "created_at",
        "updated_at",
        "public_link",
    ]
    readonly_fields = fields

    @admin.display(description=_("rating"), ordering="rating")
    def stars(self, review):
        return rating_label(review.rating)

    @admin.action(description=_("Make staff picks"), permissions=["change"])
    def feature(self, request, queryset):
        picks = list(queryset.filter(status=Status.PUBLISHED, is_featured=False))
        for review in picks:
            moderation.review_feature(review=review, moderator=request.user)
        self.message_user(
            request,
            ngettext("%(count)s staff pick made.", "%(count)s staff picks made.", len(picks))
            % {"count": len(picks)},
        )

    @admin.action(description=_("Remove from staff picks"), permissions=["change"])
    def unfeature(self, request, queryset):
        picks = list(queryset.filter(is_featured=True))
        for review in picks:
            moderation.review_unfeature(review=review, moderator=request.user)
        self.message_user(
            request,
            ngettext("%(count)s staff pick dropped.", "%(count)s staff picks dropped.", len(picks))
            % {"count": len(picks)},
        )


@admin.register(Comment)
class CommentAdmin(ModeratedAdmin):
    list_display = [
        "excerpt",
        "author",
        "review",
        "status",
        "reports_summary",
        "author_history",
        "created_at",
        "public_link",
    ]
    list_select_related = ["author", "review__title", "review__author"]
    list_filter = ["status", ReportedFilter, "review__title", "created_at"]
    inlines = [CommentReportInline]
    fields = [
        "review",
        "author",
        "author_history",
        "body",
        "status",
        "moderation_reason",
        "moderated_by",
        "moderated_at",
        "created_at",
        "updated_at",
        "public_link",
    ]
    readonly_fields = fields


@admin.register(Report)
class ReportAdmin(admin.ModelAdmin):
    list_display = ["reason", "review", "comment", "reporter", "note", "created_at", "resolved_at"]
    list_select_related = [
        "reporter",
        "review__title",
        "review__author",
        "comment__author",
        "comment__review__title",
        "comment__review__author",
    ]
    list_filter = ["reason", ("resolved_at", admin.EmptyFieldListFilter), "created_at"]
    search_fields = ["note", "reporter__username"]
    fields = [
        "reporter",
        "review",
        "comment",
        "reason",
        "note",
        "created_at",
        "resolved_at",
        "resolved_by",
    ]
    readonly_fields = fields

    def has_add_permission(self, request):
        return False


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows that staff read and nobody adds, changes or deletes in the admin."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ModerationAction)
class ModerationActionAdmin(ReadOnlyAdmin):
    """The audit trail: readable by moderators, changed by nobody."""

    list_display = ["created_at", "moderator", "action", "subject", "reason"]
    list_select_related = ["moderator"]
    list_filter = ["action", "created_at"]
    search_fields = ["subject", "reason", "moderator__username", "member__username"]
    date_hierarchy = "created_at"


class RoutineFilter(admin.SimpleListFilter):
    """Each routine with its title, read in one query (the stock filter reads each
    routine's title on its own)."""

    title = _("routine")
    parameter_name = "routine"

    def lookups(self, request, model_admin):
        return [(routine.pk, str(routine)) for routine in Routine.objects.select_related("title")]

    def queryset(self, request, queryset):
        value = self.value()
        if not value:
            return queryset
        # A hand-edited address (not a number, or past any id) names no routine: an empty
        # list, not an error page.
        if not value.isdigit() or int(value) >= 2**63:
            return queryset.none()
        return queryset.filter(routine_id=int(value))


@admin.register(RoutineRating)
class RoutineRatingAdmin(ReadOnlyAdmin):
    """Members' ratings of routines, for moderators to read with a member's history (the
    queue links here, filtered by member). Read-only: a rating changes only through its
    member's own writes (reviews.services), which keep the routine's stored counts."""

    list_display = ["routine", "member", "stars", "updated_at"]
    list_select_related = ["routine__title", "member"]
    list_filter = [("routine__title", admin.RelatedOnlyFieldListFilter), RoutineFilter]
    search_fields = ["member__username", "routine__name"]
    fields = ["routine", "member", "stars", "created_at", "updated_at"]
    readonly_fields = fields

    @admin.display(description=_("rating"), ordering="rating")
    def stars(self, rating):
        return rating_label(rating.rating)
