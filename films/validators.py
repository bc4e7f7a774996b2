from django.conf import settings
from django.core.exceptions import ValidationError
from django.template.defaultfilters import filesizeformat
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from .images import PosterRefused, process_poster


def validate_poster(file):
    """Refuse what is not a JPEG, PNG or WebP image of a sensible size.

    Django's ImageField has already checked that Pillow can read the file; this adds
    the limits: bytes on disk, pixels once decoded (a small file can decompress into
    an enormous bitmap) and the formats the site serves. The image is decoded in full
    (films.images.process_poster, in a process of its own), so a file whose header looks
    right but whose data is truncated or corrupt is refused here, not on save.
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
    try:
        process_poster(file)
    except PosterRefused as refused:
        raise ValidationError(_refusal_message(refused), code=refused.code) from refused


def _refusal_message(refused):
    if refused.code == "poster_too_many_pixels":
        return _(
            "This image is %(width)s×%(height)s pixels; posters may have at most %(limit)s pixels."
        ) % {
            **refused.params,
            "limit": number_format(settings.POSTER_MAX_PIXELS, force_grouping=True),
        }
    if refused.code == "poster_format":
        return _("Posters must be JPEG, PNG or WebP images, not %(format)s.") % refused.params
    return {
        "poster_unreadable": _("This file is not an image the site can read."),
        "poster_damaged": _("This image is damaged or incomplete; please upload it again."),
    }.get(
        refused.code,
        _("This image could not be processed; please upload a smaller or simpler one."),
    )
