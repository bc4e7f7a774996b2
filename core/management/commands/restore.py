from django.core.management.base import BaseCommand, CommandError

from core.backup import BackupError, restore_backup


class Command(BaseCommand):
    help = (
        "Restore a backup made by `manage.py backup` into this migrated database and "
        "MEDIA_ROOT, in one transaction. Refuses a database that already holds data unless "
        "--replace is given."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", help="The backup (.tar.gz) to restore.")
        parser.add_argument(
            "--replace",
            action="store_true",
            help="Delete the data already in the database (and the media files that are not "
            "in the backup) and put the backup's in its place.",
        )

    def handle(self, *args, path, replace, verbosity, **options):
        try:
            summary = restore_backup(path=path, replace=replace)
        except BackupError as error:
            raise CommandError(str(error)) from error
        if verbosity:
            rows = sum(summary["counts"].values())
            message = (
                f"Restored {rows} rows and {summary['media']['files']} media files from "
                f"{path} (backup of {summary['created']})"
            )
            if summary["media_removed"]:
                message += f"; removed {summary['media_removed']} media files not in it"
            self.stdout.write(message + ".")
