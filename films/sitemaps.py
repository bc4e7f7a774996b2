"""sitemap.xml: every public page of the catalog, in every language of the site, each
with its translations as hreflang alternates (and x-default, the English page).

Review pages are left out on purpose: at a million reviews they would be 40 sitemap pages
of 50,000 addresses in two languages, each page a query over the reviews table, for
pages whose text the title pages already show (their top reviews are in the title's
JSON-LD). Search is left out too: robots.txt keeps crawlers off it.
"""

from django.contrib.sitemaps import Sitemap
from django.urls import reverse

from .models import Character, Crew, Person, Routine, Title


class BilingualSitemap(Sitemap):
    """Each item once per language (settings.LANGUAGES), with its alternates."""

    i18n = True
    alternates = True
    x_default = True


class CatalogSitemap(BilingualSitemap):
    """Every title, person, character, crew and routine page, for search engines."""

    def items(self):
        return [
            *Title.objects.only("slug"),
            *Person.objects.only("slug"),
            *Character.objects.only("slug"),
            *Crew.objects.only("slug"),
            *Routine.objects.only("slug"),
        ]


class ListPagesSitemap(BilingualSitemap):
    def items(self):
        return [
            "films:home",
            "films:title_list",
            "films:person_list",
            "films:character_list",
            "films:crew_list",
            "films:routine_list",
        ]

    def location(self, item):
        return reverse(item)  # in the language the sitemap is listing (i18n)


SITEMAPS = {"catalog": CatalogSitemap, "lists": ListPagesSitemap}
