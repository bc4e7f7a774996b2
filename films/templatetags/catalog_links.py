"""Links to catalog pages, as values that a {% blocktranslate %} sentence places
wherever its language needs them."""

from django import template
from django.utils.html import format_html, format_html_join

register = template.Library()


@register.filter
def link(obj):
    """<a href="page">name</a> for a title, person, character, crew or routine."""
    if obj is None:
        return ""
    return format_html('<a href="{}">{}</a>', obj.get_absolute_url(), obj.name)


@register.filter
def link_list(objects, attribute=""):
    """Comma-separated links; with an attribute, links to that attribute of each object
    (`credits|link_list:"person"` links the people of a list of credits)."""
    targets = [getattr(obj, attribute) for obj in objects] if attribute else list(objects)
    return format_html_join(
        ", ", '<a href="{}">{}</a>', ((obj.get_absolute_url(), obj.name) for obj in targets)
    )


@register.filter
def is_under(path, prefix):
    """True on a list page and every page below it (/titles/ and /titles/step-up/)."""
    return bool(prefix) and str(path).startswith(str(prefix))
