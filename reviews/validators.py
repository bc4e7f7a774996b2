"""Member text must show something.

A review or comment made only of characters that draw nothing (zero-width spaces and
joiners, bidi controls, a soft hyphen, fillers and blanks, combining marks with nothing
to sit on, spaces) looks posted to its author and empty to everyone else: a way round
"write something", and a blank line in every list and feed.
"""

import unicodedata

from django.core.exceptions import ValidationError
from django.utils.deconstruct import deconstructible
from django.utils.translation import gettext_lazy as _

# Categories that draw nothing by themselves: spaces and line/paragraph separators,
# controls, format characters (zero-width spaces and joiners, bidi controls, the soft
# hyphen, the byte order mark, tags) and combining marks, which need a base to sit on.
# Unassigned code points are not among them: this Python's tables may predate a new emoji.
_INVISIBLE_CATEGORIES = frozenset({"Zs", "Zl", "Zp", "Cc", "Cf", "Mn", "Me", "Mc"})

# Unicode's Default_Ignorable_Code_Point ranges (drawn as nothing by any conforming font,
# unassigned ones included) and the letters and symbols drawn as a blank: the Hangul
# fillers are letters (Lo), the braille blank a symbol (So).
_INVISIBLE_RANGES = (
    (0x00AD, 0x00AD),
    (0x034F, 0x034F),
    (0x061C, 0x061C),
    (0x115F, 0x1160),
    (0x17B4, 0x17B5),
    (0x180B, 0x180F),
    (0x200B, 0x200F),
    (0x202A, 0x202E),
    (0x2060, 0x206F),
    (0x2800, 0x2800),
    (0x3164, 0x3164),
    (0xFE00, 0xFE0F),
    (0xFEFF, 0xFEFF),
    (0xFFA0, 0xFFA0),
    (0xFFF0, 0xFFF8),
    (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A),
    (0xE0000, 0xE0FFF),
)


def _invisible(character):
    code = ord(character)
    return unicodedata.category(character) in _INVISIBLE_CATEGORIES or any(
        low <= code <= high for low, high in _INVISIBLE_RANGES
    )


def has_visible_text(text):
    """Whether `text` has at least one character that draws something."""
    return not all(_invisible(character) for character in text)


@deconstructible
class VisibleTextValidator:
    """Refuses text with no visible character; empty text is left to `blank`/`required`."""

    message = _("This must contain visible text, not only spaces or invisible characters.")
    code = "invisible"

    def __init__(self, message=None):
        if message is not None:
            self.message = message

    def __call__(self, value):
        if value and not has_visible_text(value):
            raise ValidationError(self.message, code=self.code)

    def __eq__(self, other):
        return isinstance(other, VisibleTextValidator) and self.message == other.message


validate_visible_text = VisibleTextValidator()
