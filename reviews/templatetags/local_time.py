import datetime
import functools

from django import template
from django.utils import formats, timezone
from django.utils.html import format_html
from django.utils.translation import get_language
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
        shown = _shown_date(utc.date(), get_language())
    return format_html(
        '<time{} datetime="{}" data-local-time="{}">{}</time>',
        format_html(' class="{}"', css_class) if css_class else "",
        html_datetime(moment),
        "datetime" if with_time else "date",
        shown,
    )


@functools.lru_cache(maxsize=1024)
def _shown_date(day, language):
    # A page of cards shows a handful of days: each formatted once per language.
    return formats.date_format(day, "DATE_FORMAT")
