"""Admin actions that ask the moderator for a reason first (removing items, suspending
accounts): one form page, then the action applied to the selected rows."""

from django import forms
from django.contrib import admin
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _


class ReasonForm(forms.Form):
    reason_label = _("Reason")

    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        max_length=1000,
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reason"].label = self.reason_label


class ActionWithReasonMixin:
    """For a ModelAdmin: an action shows the selected rows and `form_class`, and once the
    form is sent back valid, calls `apply(**cleaned_data)` instead."""

    def ask_reason_then(self, request, queryset, *, form_class, apply, title, intro, submit_label):
        form = form_class(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            apply(**form.cleaned_data)
            return None
        return TemplateResponse(
            request,
            "admin/action_with_reason.html",
            {
                **self.admin_site.each_context(request),
                "title": title,
                "intro": intro,
                "items": queryset,
                "form": form,
                "action": request.POST.get("action", ""),
                "submit_label": submit_label,
                "opts": self.model._meta,
                "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            },
        )
