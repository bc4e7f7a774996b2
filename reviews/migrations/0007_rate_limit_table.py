"""The database-backed cache table that holds rate-limit counts on the embedded default
(settings.RATELIMIT_USE_CACHE), apart from the content version so that culling one never
drops the other. createcachetable creates only the tables that are missing."""

from django.core.management import call_command
from django.db import migrations


def create_cache_tables(apps, schema_editor):
    call_command("createcachetable", database=schema_editor.connection.alias, verbosity=0)


class Migration(migrations.Migration):
    dependencies = [("reviews", "0006_content_version_table")]

    operations = [migrations.RunPython(create_cache_tables, migrations.RunPython.noop)]
