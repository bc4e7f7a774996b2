from django.core.management.base import BaseCommand, CommandError

from films.models import Character, Crew, Person, Routine, Title
from films.services import CATALOG_FILE, CatalogError, catalog_load
from search.services import search_index_paused, search_index_rebuild


class Command(BaseCommand):
    help = (
        "Load the Step Up franchise catalog (titles, people, characters, credits, crews, "
        "routines, trivia). Safe to run again: it adds only entries it has never added, "
        "so edits and deletions made in the admin stay."
    )

    def add_arguments(self, parser):
        parser.add_argument("--file", default=str(CATALOG_FILE), help="Catalog JSON file to load.")
        parser.add_argument(
            "--overwrite",
            action="store_true",
            help="Reset every entry to the file, recreating deleted ones (undoes admin edits).",
        )

    def handle(self, *args, file, overwrite, verbosity, **options):
        try:
            # One rebuild of the search index at the end, not an update per row loaded.
            with search_index_paused():
                report = catalog_load(path=file, overwrite=overwrite)
        except CatalogError as error:
            raise CommandError(f"catalog not loaded: {error}") from error
        search_index_rebuild()
        if verbosity < 1:
            return
        for label, number in sorted(report.created.items()):
            self.stdout.write(f"created {number} {label}")
        for label, number in sorted(report.updated.items()):
            self.stdout.write(f"updated {number} {label}")
        for label, number in sorted(report.translated.items()):
            self.stdout.write(f"added Spanish texts to {number} {label}")
        if not report.created and not report.updated and not report.translated:
            self.stdout.write("catalog already loaded: nothing changed")
        totals = ", ".join(
            f"{model.objects.count()} {model._meta.verbose_name_plural}"
            for model in (Title, Person, Character, Crew, Routine)
        )
        self.stdout.write(self.style.SUCCESS(f"catalog: {totals}"))
