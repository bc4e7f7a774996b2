"""Uploaded images, written again by Pillow before they are stored."""

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path, PurePath

from django.conf import settings
from django.core.files.base import ContentFile
from imagekit.cachefiles import ImageCacheFile

PROCESS_SCRIPT = Path(__file__).with_name("poster_process.py")
PROCESS_TIMEOUT_SECONDS = 60


class PosterRefused(Exception):
    """The upload is not a poster the site can keep; `code` and `params` say why."""

    def __init__(self, code, **params):
        super().__init__(code)
        self.code = code
        self.params = params


@dataclass(frozen=True)
class ProcessedPoster:
    content: bytes
    extension: str


def process_poster(file):
    """The upload's pixels, upright, no larger than POSTER_MAX_SIDE, re-encoded in the same
    format; or PosterRefused. Done once per upload, by films/poster_process.py in a process
    of its own (see there why), and kept on the upload for the save that follows.

    Nothing else of the upload survives: EXIF (camera, GPS position, time), XMP, comments,
    ICC profiles, extra frames and any bytes appended after the image (a file that is both
    an image and an HTML page stops being the latter).
    """
    upload = getattr(file, "file", file)  # a model's FieldFile wraps the upload
    done = getattr(upload, "_processed_poster", None)
    if done is None:
        done = _run(file)
        upload._processed_poster = done
    if isinstance(done, PosterRefused):
        raise done
    return done


def _run(file):
    file.seek(0)
    data = file.read()
    file.seek(0)
    try:
        finished = subprocess.run(
            [
                sys.executable,
                "-I",  # Python's own isolated mode: nothing from the environment or the cwd
                str(PROCESS_SCRIPT),
                str(settings.POSTER_MAX_PIXELS),
                str(settings.POSTER_MAX_SIDE),
            ],
            input=data,
            capture_output=True,
            # Pillow needs nothing from the site's environment, and an image it chokes on
            # must find no secret (SECRET_KEY, DATABASE_URL) there to leak in a traceback.
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8"},
            timeout=PROCESS_TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return PosterRefused("poster_unprocessable")
    found, _, content = finished.stdout.partition(b"\n")
    if finished.returncode != 0 or not found:
        # Out of its memory allowance, or killed: an image no sensible poster resembles.
        return PosterRefused("poster_unprocessable")
    found = json.loads(found)
    if "refused" in found:
        return PosterRefused(found.pop("refused"), **found)
    return ProcessedPoster(content=content, extension=found["extension"])


def reencoded_image(file, *, name):
    """The processed upload (process_poster) in a new file named `name`.<its extension>."""
    processed = process_poster(file)
    return ContentFile(processed.content, name=f"{PurePath(name).stem}.{processed.extension}")


def delete_poster_files(name):
    """Remove a poster that is no longer any title's, and every resized copy of it."""
    from .models import Title  # the model imports this module

    field = Title._meta.get_field("poster")
    source = field.attr_class(instance=None, field=field, name=name)
    copies = [
        ImageCacheFile(Title.poster_thumbnail.get_spec(source=source)).name,
        ImageCacheFile(Title.poster_large.get_spec(source=source)).name,
    ]
    for stored in (*copies, name):
        if stored:
            field.storage.delete(stored)
