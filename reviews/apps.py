from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReviewsConfig(AppConfig):
    """Ratings, reviews, comments and votes: installed now, filled by the reviews issue."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "reviews"
    verbose_name = _("Reviews")

    def ready(self):
        from stepup_site.caching import watch_app_models

        # Pages show this app's data: any write to it makes the cached pages stale.
        watch_app_models(self)
