"""The rules every username follows, wherever it is set: sign-up and the admin's user forms.

Besides Django's own validators (letters, digits and @ . + - _), a username must show on
screen (no letters that draw nothing, such as Hangul fillers) and must not pass for
another: no mix of alphabets whose letters look alike (a Cyrillic "а" among Latin
letters), and no look-alike of an existing username ("bоb" with a Cyrillic "о", or "b0b",
when "bob" exists).
"""

import unicodedata
from functools import cache

from confusable_homoglyphs.confusables import confusables_data, is_dangerous
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from core.text import blank_characters, has_visible_text

# Shown in the menu, on every review and in URLs: short enough to fit them all.
USERNAME_MAX_LENGTH = 30

# confusable_homoglyphs wraps right-to-left characters in these marks, for display.
_LEFT_TO_RIGHT_MARK = "\u200e"


@cache
def _prototypes():
    """Each look-alike character → the character(s) it is drawn like (Unicode's confusables).

    confusable_homoglyphs lists, for each character, the ones it can be taken for: a
    look-alike lists only its prototype (Cyrillic "о" → "o"), a prototype lists all its
    look-alikes. Two characters that list only each other are one pair: either stands for
    both, so the smaller does.
    """
    listed = {
        char.replace(_LEFT_TO_RIGHT_MARK, ""): [
            glyph["c"].replace(_LEFT_TO_RIGHT_MARK, "") for glyph in glyphs
        ]
        for char, glyphs in confusables_data.items()
    }
    table = {}
    for char, glyphs in listed.items():
        if len(char) != 1 or len(glyphs) != 1 or glyphs[0] == char:
            continue
        (prototype,) = glyphs
        if listed.get(prototype) == [char] and char < prototype:
            continue
        table[char] = prototype
    # A few prototypes are sequences holding look-alikes themselves ("㏵" → "22日").
    for _round in range(3):
        table = {char: _draw(prototype, table) for char, prototype in table.items()}
    return table


def _draw(text, table):
    return "".join(table.get(char, char) for char in unicodedata.normalize("NFD", text))


def username_skeleton(username):
    """What a username looks like, ignoring case: equal for names a reader could confuse.

    Folded after drawing too, so "B0B" (0 is drawn like O) meets "bob".
    """
    table = _prototypes()
    return _draw(_draw(username, table).casefold(), table)


def validate_username(username, *, member=None):
    """Raise ValidationError unless `username` may be used (by `member`, when renaming)."""
    from .models import SAMPLE_PREFIX, User

    if len(username) > USERNAME_MAX_LENGTH:
        raise ValidationError(
            _("Usernames can be at most %(limit)s characters long.")
            % {"limit": USERNAME_MAX_LENGTH},
            code="too_long",
        )
    if not has_visible_text(username) or blank_characters(username):
        # Fillers (Hangul U+3164, U+FFA0) are letters to Django's validator but draw
        # nothing: a name of them shows as a blank, and "bob" plus one passes for "bob".
        raise ValidationError(
            _("Usernames cannot contain characters that show nothing, such as fillers."),
            code="invisible",
        )
    if set(username) == {"."}:
        # /members/./ and /members/../ are not the member's page: a browser resolves the
        # dots as "this folder" and "the one above".
        raise ValidationError(_("A username needs a letter or a digit."), code="dots_only")
    if username.lower().startswith(SAMPLE_PREFIX):
        raise ValidationError(
            _("Usernames starting with “%(prefix)s” are kept for the site's sample accounts.")
            % {"prefix": SAMPLE_PREFIX},
            code="reserved",
        )
    if is_dangerous(username):
        raise ValidationError(
            _(
                "This username mixes letters from different alphabets that look alike "
                "(such as a Cyrillic “а” among Latin letters). Use letters from one alphabet."
            ),
            code="mixed_scripts",
        )
    others = User.objects.filter(username_skeleton=username_skeleton(username))
    if member is not None and member.pk is not None:
        others = others.exclude(pk=member.pk)
    if others.exists():
        raise ValidationError(
            _("This username looks too much like another member’s. Please choose another."),
            code="look_alike",
        )
