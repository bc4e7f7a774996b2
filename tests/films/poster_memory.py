"""Measure what processing a poster upload costs a web worker, in a process of its own.

    python -m tests.films.poster_memory make PATH WIDTH HEIGHT   # a small RGBA PNG
    python -m tests.films.poster_memory measure PATH             # prints JSON

`measure` does what the admin's form and Title.save do with an upload (Django's
ImageField check, validate_poster, the re-encoding) and reports the process's peak
resident memory (VmHWM) before and after, and its resident memory once done: the
test of the 150 MB worker budget reads them.
"""

import json
import os
import resource
import sys
from pathlib import Path


def megabytes_peak():
    """This process's peak resident memory: VmHWM, the high-water mark of its own memory
    since exec. (ru_maxrss would do, but on Linux it starts from the parent's peak at fork,
    the test runner's, so it cannot show a child smaller than the process that started it.)"""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024  # kB
    raise RuntimeError("no VmHWM in /proc/self/status")


def megabytes_peak_rusage():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KB on Linux


def megabytes_now():
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / (1024 * 1024)


def make(path, width, height):
    from PIL import Image, ImageDraw

    image = Image.new("RGBA", (width, height), (20, 20, 40, 255))
    draw = ImageDraw.Draw(image)
    for band in range(0, height, height // 8):
        draw.rectangle((0, band, width, band + height // 16), fill=(200, 30, 90, 200))
    image.save(path, "PNG")


def measure(path):
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "stepup_site.settings")
    import django

    django.setup()
    from django import forms
    from django.core.exceptions import ValidationError
    from django.core.files.uploadedfile import SimpleUploadedFile

    from films.images import reencoded_image
    from films.validators import validate_poster

    data = Path(path).read_bytes()
    before = megabytes_peak()
    upload = SimpleUploadedFile("poster.png", data, content_type="image/png")
    try:
        forms.ImageField().clean(upload)
        validate_poster(upload)
        stored = reencoded_image(upload, name="poster")
        outcome = f"stored {len(stored)} bytes"
    except ValidationError as error:
        outcome = " ".join(error.messages)
    print(
        json.dumps(
            {
                "file_kb": round(len(data) / 1024),
                "peak_before_mb": round(before, 1),
                "peak_after_mb": round(megabytes_peak(), 1),
                "resident_after_mb": round(megabytes_now(), 1),
                "ru_maxrss_after_mb": round(megabytes_peak_rusage(), 1),
                "outcome": outcome,
            }
        )
    )


if __name__ == "__main__":
    if sys.argv[1] == "make":
        make(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    else:
        measure(sys.argv[2])
