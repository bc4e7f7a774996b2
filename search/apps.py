from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SearchConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "search"
    verbose_name = _("Site search")

    def ready(self):
        # Every write to the catalog reaches the index in its own transaction.
        from . import signals

        signals.connect()
