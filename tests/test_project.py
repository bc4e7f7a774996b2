from io import StringIO

import pytest
from django.core.management import call_command


@pytest.mark.django_db
def test_models_and_migrations_are_in_sync():
    output = StringIO()
    call_command("makemigrations", "--check", "--dry-run", stdout=output)
    assert "No changes detected" in output.getvalue()


def test_the_suite_collects_static_files_into_a_folder_of_its_own():
    from django.conf import settings

    production_folder = settings.BASE_DIR / "staticfiles"
    assert production_folder != settings.STATIC_ROOT
    assert (settings.STATIC_ROOT / "staticfiles.json").exists()
