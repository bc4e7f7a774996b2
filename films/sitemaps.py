from django.contrib.sitemaps import Sitemap
from django.urls import reverse

from .models import Character, Crew, Person, Routine, Title


class CatalogSitemap(Sitemap):
    """Every title, person, character, crew and routine page, for search engines."""

    def items(self):
        return [
            *Title.objects.only("slug"),
            *Person.objects.only("slug"),
            *Character.objects.only("slug"),
            *Crew.objects.only("slug"),
            *Routine.objects.only("slug"),
        ]


class ListPagesSitemap(Sitemap):
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
        return reverse(item)


SITEMAPS = {"catalog": CatalogSitemap, "lists": ListPagesSitemap}
