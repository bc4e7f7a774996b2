"""A catalog text in the page's language, or in the language it falls back to, marked as such.

Catalog texts are kept per language (films/translation.py). Where the Spanish one has not
been written, a Spanish page shows the English text, never a machine translation, and says
so with lang="en" on its element: screen readers then read it with English pronunciation,
and browsers neither hyphenate nor spell-check it as Spanish.
"""

from django import template
from django.template.defaultfilters import linebreaksbr
from django.utils.html import conditional_escape, format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.text import Truncator
from modeltranslation.utils import get_language, resolution_order

from films.translation import translated_fields

register = template.Library()

# The elements a text may be wrapped in: what the catalog's templates use.
ELEMENTS = frozenset({"span", "p", "li", "div", "dd", "blockquote"})


def text_and_language(obj, field):
    """`obj`'s `field` as the page shows it, and the language it is in when that is not the
    page's (None when it is, or when the field is not kept per language)."""
    if field not in translated_fields(type(obj)):
        return getattr(obj, field) or "", None
    page_language = get_language()
    for language in resolution_order(page_language):
        if text := getattr(obj, f"{field}_{language}", None):
            return text, None if language == page_language else language
    return "", None


@register.simple_tag
def translated_text(obj, field, tag="span", truncatewords=None, linebreaks=False, **attributes):
    """The text of `obj`'s translatable `field` in a `tag` element, with lang="<code>" when it
    is shown in another language than the page's; nothing when there is no text.

        {% translated_text title "synopsis" tag="p" class="lead" linebreaks=True %}
        {% translated_text item "text" tag="li" %}

    With tag="" (for an attribute, such as the meta description, where nothing can carry a
    lang): the bare text, and only in the page's language, so the caller writes its own
    sentence instead of one in another language.
    """
    text, language = text_and_language(obj, field)
    if not text or (not tag and language):
        return ""
    if truncatewords:
        text = Truncator(text).words(int(truncatewords), truncate=" …")
    body = linebreaksbr(text, autoescape=True) if linebreaks else conditional_escape(text)
    if not tag:
        return body
    if tag not in ELEMENTS:
        raise template.TemplateSyntaxError(f"translated_text cannot make a <{tag}> element")
    if language:
        attributes["lang"] = language
    attribute_html = format_html_join(
        "", ' {}="{}"', ((name, value) for name, value in attributes.items())
    )
    return format_html("<{0}{1}>{2}</{0}>", mark_safe(tag), attribute_html, body)
