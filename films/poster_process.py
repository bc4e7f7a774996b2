"""Decode one poster upload and write its pixels out again, in a process of its own.

Run by films.images.process_poster: the upload on stdin; on stdout one JSON line (what
was found, or why it was refused) and then the new file. Nothing but Pillow is imported.

A web worker never holds the decoded pixels. A 16-megapixel RGBA bitmap is 64 MB, and
decoding, turning it upright and resizing it holds two or three at once; once freed, the C
allocator seldom hands such blocks back to the system, so a worker that processed one
poster would stay that large for good. This process takes them with it when it exits.
"""

import io
import json
import resource
import sys

from PIL import Image, ImageOps

# Pillow's name for the format -> what it is saved as, and the file extension that makes
# every web server send it with an image content type.
SAVED_AS = {
    "JPEG": ("JPEG", "jpg"),
    "MPO": ("JPEG", "jpg"),  # a JPEG with extra frames, as many cameras write them
    "PNG": ("PNG", "png"),
    "WEBP": ("WEBP", "webp"),
}

# However the image is made, this process cannot take more than this from the machine.
ADDRESS_SPACE_BYTES = 1024 * 1024 * 1024


def _refuse(code, **params):
    sys.stdout.write(json.dumps({"refused": code, **params}) + "\n")
    sys.exit(0)


def _within(size, max_side):
    """The size scaled down (never up) to fit a max_side square, proportions kept."""
    width, height = size
    scale = min(1, max_side / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def process(data, *, max_pixels, max_side):
    try:
        upload = Image.open(io.BytesIO(data))
    except (OSError, SyntaxError, ValueError):
        _refuse("poster_unreadable")
    if upload.format not in SAVED_AS:
        _refuse("poster_format", format=upload.format)
    width, height = upload.size
    if width * height > max_pixels:
        _refuse("poster_too_many_pixels", width=width, height=height)
    image_format, extension = SAVED_AS[upload.format]
    if image_format == "JPEG":
        # Decoded at 1/2, 1/4 or 1/8 of its size where that still covers what is kept:
        # a fraction of the memory and the time.
        upload.draft(upload.mode, _within(upload.size, max_side))
    try:
        upload.load()  # every pixel: a truncated or corrupt file is refused here
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        _refuse("poster_damaged")
    # In place: no second copy of the bitmap (it rotates into a new one only when the
    # photo says it is stored sideways).
    ImageOps.exif_transpose(upload, in_place=True)
    image = upload
    if max(image.size) > max_side:
        image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
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
    return {"extension": extension, "width": image.width, "height": image.height}, output


def main():
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE_BYTES, ADDRESS_SPACE_BYTES))
    max_pixels, max_side = int(sys.argv[1]), int(sys.argv[2])
    # The size is checked against max_pixels before anything is decoded (Pillow's own
    # check would refuse at twice its limit without saying the size).
    Image.MAX_IMAGE_PIXELS = None
    found, output = process(sys.stdin.buffer.read(), max_pixels=max_pixels, max_side=max_side)
    sys.stdout.write(json.dumps(found) + "\n")
    sys.stdout.flush()
    sys.stdout.buffer.write(output.getvalue())


if __name__ == "__main__":
    main()
