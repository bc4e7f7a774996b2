from django import template
from django.template.defaultfilters import linebreaksbr
from django.utils.html import urlize
from django.utils.safestring import mark_safe

register = template.Library()


@register.filter
def user_text(value):
    """What a member typed, shown as plain text: escaped, line breaks kept, and any link
    marked rel="nofollow ugc" so the site lends it no ranking and no trust.

    Always escaped, even inside {% autoescape off %}: member text is never markup.
    """
    linked = urlize(str(value), nofollow=True, autoescape=True)
    linked = linked.replace('rel="nofollow"', 'rel="nofollow ugc"')
    return linebreaksbr(mark_safe(linked), autoescape=False)
