import re

from django import template
from django.template.defaultfilters import linebreaksbr
from django.utils.html import escape, urlize
from django.utils.safestring import mark_safe

register = template.Library()

# What urlize needs to see before it makes a link (its own patterns, loosened, with the
# same case folding): most reviews have none, and urlize costs a regex and a few string
# checks per word, twenty reviews a page. Without one, its result is the escaped text.
_MAYBE_LINK = re.compile(r"@|https?://|www\.|\.(com|edu|gov|int|mil|net|org)", re.IGNORECASE)


@register.filter
def user_text(value):
    """What a member typed, shown as plain text: escaped, line breaks kept, and any link
    marked rel="nofollow ugc" so the site lends it no ranking and no trust.

    Always escaped, even inside {% autoescape off %}: member text is never markup.
    """
    text = str(value)
    if _MAYBE_LINK.search(text) is None:
        linked = escape(text)
    else:
        linked = urlize(text, nofollow=True, autoescape=True)
        linked = linked.replace('rel="nofollow"', 'rel="nofollow ugc"')
    return linebreaksbr(mark_safe(linked), autoescape=False)
