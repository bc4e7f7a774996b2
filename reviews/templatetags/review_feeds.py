"""The <link rel="alternate"> elements that point feed readers to the review feeds, one
per language (the page's first), each with its hreflang."""

from django import template
from django.conf import settings
from django.urls import reverse
from django.utils.html import format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import override

from reviews.forms import current_language, language_name

register = template.Library()

FEED_TYPES = (("rss", "application/rss+xml", "RSS"), ("atom", "application/atom+xml", "Atom"))


@register.simple_tag(takes_context=True)
def feed_alternates(context, title=None):
    """The sitewide feeds, or those of `title`: in the page's language, then in each other
    language (?lang=xx chooses the reviews, the language's own address the feed's words).
    Absolute addresses: search engines take a link with an hreflang for an alternate of the
    page, and require it to be one."""
    request = context.get("request")
    page = current_language()
    codes = [page, *(code for code, _name in settings.LANGUAGES if code != page)]
    links = []
    for code in codes:
        for kind, mime, label in FEED_TYPES:
            with override(code):
                if title is None:
                    href = reverse(f"reviews:{kind}")
                else:
                    href = reverse(f"reviews:title_{kind}", kwargs={"slug": title.slug})
            if code != page:
                href += f"?lang={code}"
            names = {"language": language_name(code), "feed": label}
            if title is None:
                text = _("Latest reviews in %(language)s (%(feed)s)") % names
            else:
                text = _("Reviews of %(title)s in %(language)s (%(feed)s)") % {
                    **names,
                    "title": title.name,
                }
            if request is not None:
                href = request.build_absolute_uri(href)
            links.append((mime, code, text, href))
    return format_html_join(
        "\n  ",
        '<link rel="alternate" type="{}" hreflang="{}" title="{}" href="{}">',
        links,
    )
