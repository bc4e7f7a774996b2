"""The table of the database-backed cache that holds the content version on the embedded
default (settings.CONTENT_VERSION_CACHE). A migration, so `migrate` is all a new
installation needs; with Redis configured there is nothing to create."""

from django.core.management import call_command
from django.db import migrations


def create_cache_tables(apps, schema_editor):
    call_command("createcachetable", database=schema_editor.connection.alias, verbosity=0)


class Migration(migrations.Migration):
    dependencies = [("reviews", "0005_review_keyset_indexes")]

    operations = [migrations.RunPython(create_cache_tables, migrations.RunPython.noop)]
