"""What text shows on screen, for every app that takes text from members.

Some characters draw nothing: zero-width spaces and joiners, bidi controls, a soft hyphen,
fillers and blanks, combining marks with nothing to sit on, spaces. Text made only of them
looks written to its author and empty to everyone else.
"""

import unicodedata

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


def is_invisible(character):
    code = ord(character)
    return unicodedata.category(character) in _INVISIBLE_CATEGORIES or any(
        low <= code <= high for low, high in _INVISIBLE_RANGES
    )


def has_visible_text(text):
    """Whether `text` has at least one character that draws something."""
    return not all(is_invisible(character) for character in text)


def blank_characters(text):
    """The characters of `text` that draw nothing even beside others (fillers, blanks,
    spaces, format characters); combining marks, which sit on a letter, are not among them."""
    return [
        character
        for character in text
        if is_invisible(character) and not unicodedata.category(character).startswith("M")
    ]
