"""The site search's index: one row per catalog record and language.

The rows are plain text; the full-text machinery lives beside them in the database, made by
this app's migrations for the vendor in use (backends.py reads it):

- PostgreSQL: a `document` tsvector column generated from the row (name weighted A,
  keywords A, body B, related names C, other languages' text D) under the text search configuration
  `search_simple` ("simple" plus `unaccent`, so both languages and no accents), with a GIN
  index. Django never reads or writes the column: the database keeps it.
- SQLite: an FTS5 table `search_fts` over the same columns (external content, kept by
  triggers on this table), tokenized "unicode61 remove_diacritics 2".
"""

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class SearchEntry(models.Model):
    class Kind(models.TextChoices):
        TITLE = "title", pgettext_lazy("search result kind", "Title")
        PERSON = "person", pgettext_lazy("search result kind", "Person")
        CHARACTER = "character", pgettext_lazy("search result kind", "Character")
        CREW = "crew", pgettext_lazy("search result kind", "Crew")
        ROUTINE = "routine", pgettext_lazy("search result kind", "Routine")
        TRIVIA = "trivia", pgettext_lazy("search result kind", "Trivia")

    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    object_id = models.PositiveBigIntegerField(_("record"))
    language = models.CharField(_("language"), max_length=10)
    # What is found, by weight: the name (and its folded forms in `keywords`, so "neyo"
    # finds Ne-Yo and "stepup" Step Up); the record's own text in this row's language (the
    # snippet shown); the names of what it is linked to (who plays a character, a
    # routine's title and dancers); its text in the other languages (found, never shown).
    name = models.TextField(_("name"), blank=True)
    keywords = models.TextField(_("keywords"), blank=True)
    body = models.TextField(_("text"), blank=True)
    related = models.TextField(_("related names"), blank=True)
    other_languages = models.TextField(_("text in other languages"), blank=True)
    # What a result shows beside its snippet, in this row's language.
    year = models.PositiveSmallIntegerField(_("year"), null=True, blank=True)
    context = models.JSONField(_("context"), default=dict, blank=True)
    # The page a result links to: its kind's page at this slug (a trivia item's title's).
    slug = models.CharField(_("slug"), max_length=200)

    class Meta:
        verbose_name = _("search index entry")
        verbose_name_plural = _("search index entries")
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "object_id", "language"], name="search_entry_once_per_language"
            ),
        ]

    def __str__(self):
        return f"{self.kind}:{self.object_id} ({self.language})"
