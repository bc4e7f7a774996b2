from django import template
from django.urls import NoReverseMatch
from django.utils.translation import gettext

from films.share import page_share

register = template.Library()


@register.simple_tag(takes_context=True)
def page_share_meta(context):
    """The card the view gave the page (`share`), or the site's own for the pages whose
    views give none (sign-in, the error pages); None without a request to make its
    addresses absolute."""
    if share := context.get("share"):
        return share
    request = context.get("request")
    if request is None or not hasattr(request, "build_absolute_uri"):
        return None
    try:
        return page_share(request, title=gettext("Step Up Community"))
    except NoReverseMatch:  # an error page drawn while the URLs themselves are broken
        return None
