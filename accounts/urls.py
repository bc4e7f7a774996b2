from django.urls import path

from . import views

app_name = "accounts"

urlpatterns = [
    path("accounts/signup/", views.signup, name="signup"),
    path("accounts/signup/done/", views.signup_done, name="signup_done"),
    path("accounts/signup/resend/", views.signup_resend, name="signup_resend"),
    path("accounts/signup/confirm/<str:token>/", views.signup_confirm, name="signup_confirm"),
    path("accounts/settings/", views.account_settings, name="settings"),
    path("accounts/settings/email/", views.email_change, name="email_change"),
    path(
        "accounts/settings/email/<str:token>/",
        views.email_change_confirm,
        name="email_change_confirm",
    ),
    path("accounts/delete/", views.delete_account, name="delete"),
    path("accounts/export.csv", views.export_reviews, {"export_format": "csv"}, name="export_csv"),
    path(
        "accounts/export.json", views.export_reviews, {"export_format": "json"}, name="export_json"
    ),
    path("members/<str:username>/", views.profile, name="profile"),
]
