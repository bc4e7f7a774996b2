from django.conf import settings
from django.core.exceptions import ValidationError
from django.template.defaultfilters import filesizeformat
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from PIL import Image

from .images import SAVED_AS

# What re-encoding can write (films.images): JPEG (and MPO, as Pillow reads many JPEGs from
# phones and cameras), PNG and WebP.
ACCEPTED_POSTER_FORMATS = set(SAVED_AS)


def validate_poster(file):
    """Refuse what is not a JPEG, PNG or WebP image of a sensible size.

    Django's ImageField has already checked that Pillow can read the file; this adds
    the limits: bytes on disk, pixels once decoded (a small file can decompress into
    an enormous bitmap) and the formats the site serves.
    """
    if getattr(file, "_committed", False):
        # Already stored: only new uploads are checked, so saving a title never
        # re-reads (or trips over) the poster it already has.
        return
    max_bytes = settings.POSTER_MAX_UPLOAD_BYTES
    if file.size > max_bytes:
        raise ValidationError(
            _("This image is %(size)s; posters may be at most %(limit)s.")
            % {"size": filesizeformat(file.size), "limit": filesizeformat(max_bytes)},
            code="poster_too_large",
        )
    file.seek(0)
    try:
        with Image.open(file) as image:
            width, height = image.size
            image_format = image.format
    except Image.DecompressionBombError as error:
        # Pillow's own limit, far above ours: refused before a pixel is decoded.
        raise ValidationError(
            _("This image has far too many pixels for a poster."), code="poster_too_many_pixels"
        ) from error
    except OSError as error:
        raise ValidationError(
            _("This file is not an image the site can read."), code="poster_unreadable"
        ) from error
    finally:
        file.seek(0)
    if width * height > settings.POSTER_MAX_PIXELS:
        raise ValidationError(
            _(
                "This image is %(width)s×%(height)s pixels; "
                "posters may have at most %(limit)s pixels."
            )
            % {
                "width": width,
                "height": height,
                "limit": number_format(settings.POSTER_MAX_PIXELS, force_grouping=True),
            },
            code="poster_too_many_pixels",
        )
    if image_format not in ACCEPTED_POSTER_FORMATS:
        raise ValidationError(
            _("Posters must be JPEG, PNG or WebP images, not %(format)s.")
            % {"format": image_format},
            code="poster_format",
        )
    # Decode every pixel now (the size is known to be sensible): a file whose header
    # looks right but whose data is truncated or corrupt is refused here, not on save.
    try:
        with Image.open(file) as image:
            image.load()
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as error:
        raise ValidationError(
            _("This image is damaged or incomplete; please upload it again."),
            code="poster_damaged",
        ) from error
    finally:
        file.seek(0)
