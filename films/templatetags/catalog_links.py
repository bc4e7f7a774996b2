"""Links to catalog pages, as values that a {% blocktranslate %} sentence places
wherever its language needs them."""

from django import template
from django.utils.html import conditional_escape, format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.text import get_text_list
from django.utils.translation import gettext

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
def link_sentence(objects, attribute=""):
    """Links joined as a sentence says them ("A", "A and B", "A, B and C"); with an
    attribute, links to that attribute of each object, as link_list does."""
    targets = [getattr(obj, attribute) for obj in objects] if attribute else list(objects)
    links = [link(obj) for obj in targets]
    # Each link is escaped by format_html, the word joining the last one here.
    return mark_safe(get_text_list(links, conditional_escape(gettext("and"))))


@register.filter
def is_under(path, prefix):
    """True on a list page and every page below it (/titles/ and /titles/step-up/)."""
    return bool(prefix) and str(path).startswith(str(prefix))
