from django.core.management.base import BaseCommand

from films.models import Character, Crew, Person, Routine, Title
from films.services import CATALOG_FILE, catalog_load


class Command(BaseCommand):
    help = (
        "Load the Step Up franchise catalog (titles, people, characters, credits, crews, "
        "routines, trivia). Safe to run again: rows that exist are left as they are."
    )

    def add_arguments(self, parser):
        parser.add_argument("--file", default=str(CATALOG_FILE), help="Catalog JSON file to load.")
        parser.add_argument(
            "--overwrite",
            action="store_true",
            help="Also reset existing rows to the file's values (undoes edits made in the admin).",
        )

    def handle(self, *args, file, overwrite, verbosity, **options):
        report = catalog_load(path=file, overwrite=overwrite)
        if verbosity < 1:
            return
        for label, number in sorted(report.created.items()):
            self.stdout.write(f"created {number} {label}")
        for label, number in sorted(report.updated.items()):
            self.stdout.write(f"updated {number} {label}")
        if not report.created and not report.updated:
            self.stdout.write("catalog already loaded: nothing changed")
        totals = ", ".join(
            f"{model.objects.count()} {model._meta.verbose_name_plural}"
            for model in (Title, Person, Character, Crew, Routine)
        )
        self.stdout.write(self.style.SUCCESS(f"catalog: {totals}"))
