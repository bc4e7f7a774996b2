"""Member text must show something.

A review or comment made only of characters that draw nothing (zero-width spaces and
joiners, bidi controls, a soft hyphen, fillers and blanks, combining marks with nothing
to sit on, spaces) looks posted to its author and empty to everyone else: a way round
"write something", and a blank line in every list and feed.
"""

from django.core.exceptions import ValidationError
from django.utils.deconstruct import deconstructible
from django.utils.translation import gettext_lazy as _

# Lives in core.text, shared with the username rules; still importable from here.
from core.text import has_visible_text

__all__ = ["VisibleTextValidator", "has_visible_text", "validate_visible_text"]


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
