"""Uploaded images, written again by Pillow before they are stored."""

import io
from pathlib import PurePath

from django.core.files.base import ContentFile
from PIL import Image, ImageOps

# Pillow's name for the format -> what it is saved as, and the file extension that makes
# every web server send it with an image content type.
SAVED_AS = {
    "JPEG": ("JPEG", "jpg"),
    "MPO": ("JPEG", "jpg"),  # a JPEG with extra frames, as many cameras write them
    "PNG": ("PNG", "png"),
    "WEBP": ("WEBP", "webp"),
}


def reencoded_image(file, *, name):
    """The image's pixels, upright, in a new file of the same format named `name`.<ext>.

    Nothing else of the upload survives: EXIF (camera, GPS position, time), XMP, comments,
    ICC profiles, extra frames and any bytes appended after the image (a file that is both
    an image and an HTML page stops being the latter). validate_poster has already checked
    the format and size.
    """
    file.seek(0)
    with Image.open(file) as upload:
        image_format, extension = SAVED_AS[upload.format]
        image = ImageOps.exif_transpose(upload)
    # Pillow writes some of what it read (a JPEG comment, an ICC profile) back out unless
    # the image forgets it. Transparency is part of the picture, not metadata: kept.
    transparency = image.info.get("transparency")
    image.info = {}
    output = io.BytesIO()
    if image_format == "JPEG":
        if image.mode not in ("RGB", "L"):
            image = image.convert("RGB")
        image.save(output, "JPEG", quality=90, optimize=True)
    elif image_format == "PNG":
        options = {} if transparency is None else {"transparency": transparency}
        image.save(output, "PNG", optimize=True, **options)
    else:
        image.save(output, "WEBP", quality=90)
    return ContentFile(output.getvalue(), name=f"{PurePath(name).stem}.{extension}")
