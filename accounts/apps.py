from django.apps import AppConfig, apps
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "accounts"
    verbose_name = _("Accounts")

    def ready(self):
        from stepup_site.caching import watch_app_models

        # Pages show this app's data: any write to it makes the cached pages stale. So do
        # changes to groups and their permissions, which decide what staff members see.
        watch_app_models(self)
        watch_app_models(apps.get_app_config("auth"))
