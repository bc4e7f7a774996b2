"""Copies shared by every reader, with slots for each reader's own parts.

A shared copy (a review card, a title page for members) is rendered once with a slot token
where a reader's part goes: their CSRF token, whether they marked a review helpful, their
own review. When it is stored it is cut at its slots. Serving it renders the reader's
parts, small and few, and joins the pieces: nothing in the shared text is searched or
replaced per request.

A slot token is derived from the secret key, so nobody can type one into a review, and is
made of letters, digits and colons only, so escaping leaves it as it is.
"""

import functools
import hashlib
import re

from django.conf import settings


def slot(name):
    """The token standing for the slot `name` (lowercase letters and dashes)."""
    return f"{_prefix(settings.SECRET_KEY)}{name}:"


def cut(html):
    """The pieces of `html`: text, slot name, text, slot name, ..., text."""
    return tuple(_pattern(settings.SECRET_KEY).split(html))


def join(pieces, values):
    """The pieces with each slot's value from `values` (a mapping of slot name to text)."""
    return "".join(values[piece] if odd else piece for odd, piece in _alternating(pieces))


def slots_in(pieces):
    return {piece for odd, piece in _alternating(pieces) if odd}


def _alternating(pieces):
    return ((index % 2 == 1, piece) for index, piece in enumerate(pieces))


@functools.lru_cache(maxsize=4)
def _prefix(secret_key):
    digest = hashlib.sha256(f"{secret_key}:slot".encode()).hexdigest()[:24]
    return f"slot{digest}:"


@functools.lru_cache(maxsize=4)
def _pattern(secret_key):
    return re.compile(re.escape(_prefix(secret_key)) + r"([a-z-]+):")
