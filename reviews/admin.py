from django.contrib import admin

from . import services
from .models import Comment, Report, Review


@admin.register(Review)
class ReviewAdmin(admin.ModelAdmin):
    list_display = [
        "title",
        "author",
        "rating",
        "headline",
        "helpful_count",
        "comment_count",
        "created_at",
    ]
    list_select_related = ["title", "author"]
    list_filter = ["title", "rating", "contains_spoilers", "created_at"]
    search_fields = ["headline", "body", "author__username"]
    raw_id_fields = ["author"]
    readonly_fields = [
        "title",
        "author",
        "helpful_count",
        "comment_count",
        "created_at",
        "updated_at",
    ]
    date_hierarchy = "created_at"

    def has_add_permission(self, request):
        # Reviews are written by members on the site, where the aggregates are kept.
        return False

    def save_model(self, request, obj, form, change):
        services.review_submit(
            title=obj.title,
            author=obj.author,
            rating=obj.rating,
            headline=obj.headline,
            body=obj.body,
            contains_spoilers=obj.contains_spoilers,
        )

    def delete_model(self, request, obj):
        services.review_delete(review=obj)

    def delete_queryset(self, request, queryset):
        for review in queryset:
            services.review_delete(review=review)


@admin.register(Comment)
class CommentAdmin(admin.ModelAdmin):
    list_display = ["__str__", "author", "created_at"]
    list_select_related = ["author", "review__title", "review__author"]
    search_fields = ["body", "author__username"]
    raw_id_fields = ["author", "review"]
    readonly_fields = ["review", "author", "created_at", "updated_at"]

    def has_add_permission(self, request):
        return False

    def delete_model(self, request, obj):
        services.comment_delete(comment=obj)

    def delete_queryset(self, request, queryset):
        for comment in queryset:
            services.comment_delete(comment=comment)


@admin.register(Report)
class ReportAdmin(admin.ModelAdmin):
    list_display = ["reason", "review", "comment", "reporter", "created_at"]
    list_select_related = [
        "reporter",
        "review__title",
        "review__author",
        "comment__author",
        "comment__review__title",
        "comment__review__author",
    ]
    list_filter = ["reason", "created_at"]
    search_fields = ["note", "reporter__username"]
    readonly_fields = ["reporter", "review", "comment", "reason", "note", "created_at"]

    def has_add_permission(self, request):
        return False
