from django.db import models
from django.utils.translation import gettext_lazy as _


class ContentVersion(models.Model):
    """The current version of one cache scope (core.caching), on the embedded default.

    Kept in the site's own database because every app process must see the same versions,
    and on SQLite a writer changes them inside its own transaction, so they commit or roll
    back with the data they stand for. With Redis configured they live there instead and
    this table stays empty.
    """

    scope = models.CharField(_("scope"), max_length=200, primary_key=True)
    version = models.CharField(_("version"), max_length=32)

    class Meta:
        ordering = ["scope"]
        verbose_name = _("content version")
        verbose_name_plural = _("content versions")

    def __str__(self):
        return f"{self.scope} @ {self.version}"
