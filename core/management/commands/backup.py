from django.core.management.base import BaseCommand, CommandError

from core.backup import BackupError, create_backup


class Command(BaseCommand):
    help = (
        "Write a backup of the whole site to one .tar.gz: every row of every app (members, "
        "catalog, reviews, votes, comments, reports, moderation records) and every file "
        "under MEDIA_ROOT. Default path: backups/stepup-<UTC time>.tar.gz."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", nargs="?", help="Where to write the backup (.tar.gz).")

    def handle(self, *args, path, verbosity, **options):
        try:
            manifest = create_backup(path=path)
        except BackupError as error:
            raise CommandError(str(error)) from error
        if verbosity:
            rows = sum(manifest["counts"].values())
            media = manifest["media"]
            self.stdout.write(
                f"Backed up {rows} rows and {media['files']} media files "
                f"({media['bytes']} bytes) to {manifest['path']}"
            )
