from django.apps import AppConfig, apps
from django.conf import settings
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    """The site's infrastructure: page caching and its version store, cache backends, rate
    limits, client addresses, request limits, backup and restore. It imports no product app:
    what the pages show is the project's scope map (settings.PAGE_CACHE_SCOPES)."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "core"
    verbose_name = _("Site infrastructure")

    def ready(self):
        from .caching import watch_app_models

        # Pages show these apps' data: any write to them makes the pages that show it stale.
        for label in settings.PAGE_CACHE_WATCHED_APPS:
            watch_app_models(apps.get_app_config(label))
