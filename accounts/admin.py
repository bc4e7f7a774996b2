from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.utils.translation import gettext_lazy as _

from reviews.services import account_delete

from .models import User


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ["username", "email", "is_sample", "is_staff", "is_active", "date_joined"]
    list_filter = ["is_sample", *DjangoUserAdmin.list_filter]
    fieldsets = [
        *DjangoUserAdmin.fieldsets,
        (_("Community"), {"fields": ["is_sample"]}),
    ]

    # Deleting a member goes through the same service as a member deleting themselves,
    # so every stored count (ratings, helpful votes, comments) stays right. Their reviews,
    # votes and comments are PROTECTed from a bare cascade; the service removes them, so
    # the confirmation page lists them as deleted rather than as blocking.
    def get_deleted_objects(self, objs, request):
        deleted, model_count, perms_needed, protected = super().get_deleted_objects(objs, request)
        return [*deleted, *map(str, protected)], model_count, perms_needed, []

    def delete_model(self, request, obj):
        account_delete(user=obj)

    def delete_queryset(self, request, queryset):
        for user in queryset:
            account_delete(user=user)
