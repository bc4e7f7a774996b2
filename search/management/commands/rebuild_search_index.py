from django.core.management.base import BaseCommand

from search.services import search_index_rebuild


class Command(BaseCommand):
    help = "Write the site search's index again from the catalog (every record, every language)."

    def handle(self, *args, verbosity, **options):
        count = search_index_rebuild()
        if verbosity >= 1:
            self.stdout.write(self.style.SUCCESS(f"search index: {count} entries"))
