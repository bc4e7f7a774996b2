import datetime

from django import template
from django.utils import formats, timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _

register = template.Library()


def html_datetime(moment):
    """A moment as HTML's datetime attribute takes it: UTC, to the second. (Django's "c"
    format gives microseconds, which HTML does not allow: at most three digits.)"""
    return timezone.localtime(moment, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@register.simple_tag
def local_time(moment, *, with_time=False, css_class=""):
    """A <time> element for a moment a member posted something.

    Pages are cached and shared by readers everywhere, so the server writes the moment in
    UTC and says so; static/js/local-time.js then shows it in the reader's own time zone.
    """
    utc = timezone.localtime(moment, datetime.UTC)
    if with_time:
        shown = _("%(moment)s UTC") % {"moment": formats.date_format(utc, "DATETIME_FORMAT")}
    else:
        shown = formats.date_format(utc, "DATE_FORMAT")
    return format_html(
        '<time{} datetime="{}" data-local-time="{}">{}</time>',
        format_html(' class="{}"', css_class) if css_class else "",
        html_datetime(moment),
        "datetime" if with_time else "date",
        shown,
    )
