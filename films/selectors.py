"""Reads of the catalog that more than one part of the site shares."""

from .models import Title

_title_pks = {}


def title_pk(slug):
    """A title's id by its slug, from this process's memory after the first time (a title
    page asks on every member visit). A slug given to another title is caught by the
    caller, which checks the slug of the title it loads: forget_title_slug, then ask again."""
    pk = _title_pks.get(slug)
    if pk is None:
        pk = Title.objects.filter(slug=slug).values_list("pk", flat=True).first()
        if pk is not None:
            _title_pks[slug] = pk  # found slugs only: no memory for made-up ones
    return pk


def forget_title_slug(slug):
    _title_pks.pop(slug, None)
