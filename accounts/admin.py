from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from core.admin_actions import ActionWithReasonMixin, ReasonForm
from reviews.models import Comment, Review, RoutineRating

from .forms import UsernameRulesMixin
from .models import User
from .services import SuspensionRefused, account_delete, account_suspend, account_unsuspend


class UserCreationAdminForm(UsernameRulesMixin, AdminUserCreationForm):
    """Django's, asking for the email address too: every account needs one (to reset its
    password, and the change page refuses to save without it)."""

    class Meta(AdminUserCreationForm.Meta):
        model = User
        fields = ["username", "email"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["email"].required = True


class UserChangeAdminForm(UsernameRulesMixin, UserChangeForm):
    class Meta(UserChangeForm.Meta):
        model = User


class SuspensionForm(ReasonForm):
    reason_label = _("Reason (kept in the moderation records)")
    hide_content = forms.BooleanField(
        label=_("Also remove everything they have published"), required=False
    )


@admin.register(User)
class UserAdmin(ActionWithReasonMixin, DjangoUserAdmin):
    list_display = [
        "username",
        "email",
        "is_active",
        "suspended_at",
        "is_sample",
        "is_staff",
        "date_joined",
    ]
    list_filter = [
        "is_active",
        ("suspended_at", admin.EmptyFieldListFilter),
        "is_sample",
        *DjangoUserAdmin.list_filter,
    ]
    fieldsets = [
        *DjangoUserAdmin.fieldsets,
        (_("Community"), {"fields": ["is_sample"]}),
    ]
    add_form = UserCreationAdminForm
    form = UserChangeAdminForm
    add_fieldsets = [
        (
            None,
            {
                "classes": ["wide"],
                "fields": ["username", "email", "usable_password", "password1", "password2"],
            },
        ),
    ]
    actions = ["suspend", "unsuspend"]

    def has_suspend_permission(self, request):
        return request.user.has_perm("accounts.suspend_user")

    def _each_within_reach(self, request, members, act):
        """`act` on each member, and how many it acted on; the service refuses those out of
        the moderator's reach, and its reason is shown for each."""
        done = 0
        for member in members:
            try:
                act(member)
            except SuspensionRefused as refused:
                self.message_user(request, str(refused), messages.WARNING)
            else:
                done += 1
        return done

    @admin.action(description=_("Suspend, with a reason…"), permissions=["suspend"])
    def suspend(self, request, queryset):
        """Suspended members cannot sign in, and any session they have stops working
        (Django's backend refuses inactive accounts on every request)."""

        def apply(**cleaned_data):
            suspended = self._each_within_reach(
                request,
                queryset,
                lambda member: account_suspend(
                    member=member, moderator=request.user, **cleaned_data
                ),
            )
            self.message_user(
                request,
                ngettext("%(count)s account suspended.", "%(count)s accounts suspended.", suspended)
                % {"count": suspended},
            )

        return self.ask_reason_then(
            request,
            queryset,
            form_class=SuspensionForm,
            apply=apply,
            title=_("Suspend accounts"),
            intro=_(
                "Suspended members cannot sign in or post. Their sessions stop working at once."
            ),
            submit_label=_("Suspend"),
        )

    @admin.action(description=_("Lift the suspension"), permissions=["suspend"])
    def unsuspend(self, request, queryset):
        lifted = self._each_within_reach(
            request,
            queryset.filter(suspended_at__isnull=False),
            lambda member: account_unsuspend(member=member, moderator=request.user),
        )
        self.message_user(
            request,
            ngettext("%(count)s suspension lifted.", "%(count)s suspensions lifted.", lifted)
            % {"count": lifted},
            messages.SUCCESS,
        )

    # Deleting a member goes through the same service as a member deleting themselves,
    # so every stored count (ratings, helpful votes, comments, routine ratings) stays
    # right. Their reviews, votes, comments and routine ratings are PROTECTed from a bare
    # cascade; the service removes them, so the confirmation page lists them as deleted
    # rather than as blocking.
    def get_deleted_objects(self, objs, request):
        deleted, model_count, perms_needed, protected = super().get_deleted_objects(objs, request)
        # Reviews and comments are never deleted in their own admin (moderators remove them,
        # reversibly), nor routine ratings (read-only there), but leaving with their author
        # is how they should go.
        removed_with_author = {
            str(model._meta.verbose_name) for model in (Review, Comment, RoutineRating)
        }
        perms_needed = {name for name in perms_needed if str(name) not in removed_with_author}
        return [*deleted, *map(str, protected)], model_count, perms_needed, []

    def save_model(self, request, obj, form, change):
        if change and "is_active" in form.changed_data and not obj.is_active:
            # Closing an account by hand ends its sessions for good, as a suspension does.
            obj.session_epoch += 1
        super().save_model(request, obj, form, change)

    def delete_model(self, request, obj):
        account_delete(user=obj)

    def delete_queryset(self, request, queryset):
        for user in queryset:
            account_delete(user=user)
