from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FilmsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "films"
    verbose_name = _("Franchise catalog")

    def ready(self):
        from stepup_site.caching import watch_app_models

        # Pages show this app's data: any write to it makes the cached pages stale.
        watch_app_models(self)
