"""Poster uploads within a web worker's memory budget, and no poster file left behind."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from PIL import Image

from films.models import Title
from tests.factories import StaffUserFactory, TitleFactory
from tests.films.test_admin import form_errors, image_file, post_poster

pytestmark = pytest.mark.django_db

PROJECT_ROOT = Path(__file__).resolve().parents[2]
# What a gunicorn worker may grow to (docs: 150 MB), and what handling one upload may add.
WORKER_BUDGET_MB = 150
GROWTH_BUDGET_MB = 60


@pytest.fixture
def staff_client(client):
    client.force_login(StaffUserFactory(is_superuser=True))
    return client


def in_a_process(*arguments):
    finished = subprocess.run(
        [sys.executable, "-m", "tests.films.poster_memory", *arguments],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    return finished.stdout


@pytest.fixture(scope="module")
def big_pngs(tmp_path_factory):
    """A 155 KB-ish RGBA PNG of 39.9 megapixels, the size that took a worker to 415 MB, and
    one just under the 16-megapixel limit; made in a process of their own, so the test run
    never holds their pixels."""
    folder = tmp_path_factory.mktemp("posters")
    made = {}
    for name, size in (("39.9-megapixels", (5000, 7980)), ("16-megapixels", (3264, 4896))):
        made[name] = folder / f"{name}.png"
        in_a_process("make", str(made[name]), *map(str, size))
    return made


@pytest.mark.parametrize(
    ("image", "outcome"),
    [
        ("39.9-megapixels", "posters may have at most 16,000,000 pixels"),
        ("16-megapixels", "stored"),
    ],
)
@pytest.mark.slow  # makes and measures tens of megapixels, each in a process of its own
def test_a_huge_poster_upload_stays_within_a_workers_memory_budget(big_pngs, image, outcome):
    measured = json.loads(in_a_process("measure", str(big_pngs[image])))
    assert outcome in measured["outcome"], measured
    assert measured["peak_after_mb"] - measured["peak_before_mb"] < GROWTH_BUDGET_MB, measured
    assert measured["peak_after_mb"] < WORKER_BUDGET_MB, measured
    assert measured["resident_after_mb"] < WORKER_BUDGET_MB, measured


def test_an_image_over_16_megapixels_is_refused_with_a_clear_message(staff_client):
    upload = image_file(size=(4000, 4001))
    message = form_errors(post_poster(staff_client, TitleFactory(), upload))
    assert message == (
        "This image is 4000×4001 pixels; posters may have at most 16,000,000 pixels."
    )


@pytest.mark.parametrize("image_format", ["JPEG", "PNG", "WEBP"])
def test_a_large_poster_is_stored_scaled_to_fit_the_largest_size_shown(
    staff_client, settings, image_format
):
    settings.POSTER_MAX_SIDE = 500
    title = TitleFactory()
    upload = image_file(f"big.{image_format.lower()}", size=(1200, 1800), image_format=image_format)
    assert post_poster(staff_client, title, upload).status_code == 302
    title.refresh_from_db()
    with Image.open(title.poster.path) as stored:
        assert stored.size == (333, 500)
        assert stored.format == image_format


def stored_files():
    media = Path(django_settings.MEDIA_ROOT)
    return sorted(str(path.relative_to(media)) for path in media.rglob("*") if path.is_file())


def resized_copies_and(upload, title):
    return sorted([upload, title.poster_thumbnail.name, title.poster_large.name])


def test_a_replaced_poster_and_its_resized_copies_are_deleted_after_commit(
    staff_client, django_capture_on_commit_callbacks
):
    title = TitleFactory(slug="all-in")
    with django_capture_on_commit_callbacks(execute=True):
        assert post_poster(staff_client, title, image_file()).status_code == 302
    title.refresh_from_db()
    first = stored_files()
    assert first == resized_copies_and(title.poster.name, title)
    with django_capture_on_commit_callbacks(execute=False) as waiting:
        upload = image_file(image=Image.new("RGB", (600, 900), "blue"))
        assert post_poster(staff_client, title, upload).status_code == 302
    assert set(first) < set(stored_files())  # the old files stay until the commit
    for callback in waiting:
        callback()
    title.refresh_from_db()
    assert stored_files() == resized_copies_and(title.poster.name, title)
    assert not set(first) & set(stored_files())


def test_a_cleared_poster_is_deleted(staff_client, django_capture_on_commit_callbacks):
    title = TitleFactory()
    with django_capture_on_commit_callbacks(execute=True):
        assert post_poster(staff_client, title, image_file()).status_code == 302
    assert len(stored_files()) == 3  # the upload and its two resized copies
    title = Title.objects.get(pk=title.pk)
    with django_capture_on_commit_callbacks(execute=True):
        title.poster = None
        title.save()
    assert stored_files() == []


def test_a_deleted_titles_poster_is_deleted(staff_client, django_capture_on_commit_callbacks):
    title = TitleFactory()
    with django_capture_on_commit_callbacks(execute=True):
        assert post_poster(staff_client, title, image_file()).status_code == 302
    assert len(stored_files()) == 3  # the upload and its two resized copies
    with django_capture_on_commit_callbacks(execute=True):
        Title.objects.filter(pk=title.pk).delete()
    assert stored_files() == []


def test_saving_a_title_without_touching_its_poster_keeps_the_files(
    staff_client, django_capture_on_commit_callbacks
):
    title = TitleFactory()
    with django_capture_on_commit_callbacks(execute=True):
        assert post_poster(staff_client, title, image_file()).status_code == 302
    kept = stored_files()
    title = Title.objects.get(pk=title.pk)
    with django_capture_on_commit_callbacks(execute=True):
        title.name = "Renamed"
        title.save()
        Title.objects.only("pk", "name").get(pk=title.pk).save(update_fields=["name"])
    assert stored_files() == kept


def test_a_poster_is_decoded_once_per_upload(staff_client, monkeypatch):
    from films import images

    runs = []
    run = images._run
    monkeypatch.setattr(images, "_run", lambda file: runs.append(file) or run(file))
    assert post_poster(staff_client, TitleFactory(), image_file()).status_code == 302
    assert len(runs) == 1


def test_an_image_whose_processing_fails_is_refused_with_a_message_not_a_500(
    staff_client, monkeypatch, tmp_path
):
    """The decoding process killed (out of its memory allowance) or crashing."""
    from films import images

    crashing = tmp_path / "crash.py"
    crashing.write_text("raise MemoryError\n")
    monkeypatch.setattr(images, "PROCESS_SCRIPT", crashing)
    title = TitleFactory()
    message = form_errors(post_poster(staff_client, title, image_file()))
    assert message == "This image could not be processed; please upload a smaller or simpler one."
    title.refresh_from_db()
    assert not title.poster


def test_the_image_process_is_given_none_of_the_sites_secrets(staff_client, monkeypatch, tmp_path):
    from films import images

    monkeypatch.setenv("SECRET_KEY", "a-secret-the-image-process-must-not-see")
    monkeypatch.setenv("DATABASE_URL", "postgres://user:password@db/stepup")
    seen = tmp_path / "environment.json"
    spy = tmp_path / "spy.py"
    spy.write_text(
        "import json, os, sys\n"
        f"open({str(seen)!r}, 'w').write(json.dumps(dict(os.environ)))\n"
        "sys.exit(1)\n"
    )
    monkeypatch.setattr(images, "PROCESS_SCRIPT", spy)
    post_poster(staff_client, TitleFactory(), image_file())
    environment = json.loads(seen.read_text())
    assert "SECRET_KEY" not in environment and "DATABASE_URL" not in environment


def test_the_title_pages_copy_can_be_made_for_posters_stored_before_it_existed(
    staff_client, settings
):
    # README: `manage.py generateimages films:title:poster_large` after the upgrade.
    from django.core.cache import caches
    from django.core.management import call_command

    title = TitleFactory()
    assert post_poster(staff_client, title, image_file()).status_code == 302
    title = Title.objects.get(pk=title.pk)
    large = Path(settings.MEDIA_ROOT) / title.poster_large.name
    # As if uploaded before the copy existed: no file, and imagekit's cache never saw one.
    large.unlink()
    caches[django_settings.IMAGEKIT_CACHE_BACKEND].clear()
    call_command("generateimages", "films:title:poster_large", verbosity=0)
    with Image.open(large) as made:
        assert made.size == (480, 720)
