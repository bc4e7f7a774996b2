"""A page of a title's reviews, rendered once and shared by every reader.

Rendering twenty review cards is most of a title page's cost. Visitors all see the same
cards, and members too except for a few marks: their CSRF token in the vote forms, which
reviews they have marked helpful, and their own review (shown at the top of the page, so
in the list it becomes a pointer to it). The page is rendered for "a member" with
placeholders there, cached under the title's scope version, and each member's marks are
written into the copy as it is served.
"""

import functools
import hashlib

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.middleware.csrf import get_token
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.functional import cached_property
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

from stepup_site.caching import cached_fragment

from .models import HelpfulVote
from .pagination import paginate_reviews


def placeholder(name):
    """A token that stands in a shared copy for one reader's part of it. Derived from the
    secret key, so nobody can type one into a review to have it replaced; letters, digits
    and dashes only, so escaping leaves it as it is."""
    return _placeholder(settings.SECRET_KEY, name)


@functools.lru_cache(maxsize=32)
def _placeholder(secret_key, name):
    # Several per member request, each the same until the key changes: hashed once.
    digest = hashlib.sha256(f"{secret_key}:placeholder:{name}".encode()).hexdigest()
    return f"{name}-{digest[:32]}"


class AnyMember:
    """Who shared copies for members are rendered for: signed in, and the author of
    nothing (so the copy holds vote forms and report links, never edit links)."""

    is_authenticated = True
    is_anonymous = False
    is_staff = False
    pk = None
    id = None

    @property
    def username(self):
        return placeholder("member-name")

    def get_absolute_url(self):
        return "/" + placeholder("member-url") + "/"

    def has_perm(self, perm, obj=None):
        return False


def _csrf_placeholder():
    return placeholder("csrf")


def _vote_button(review_pk, voted):
    # The card template writes exactly this, quotes included; user text is escaped, so
    # it cannot contain it.
    if voted:
        return f'btn-dark" aria-pressed="true" data-review="{review_pk}"'
    return f'btn-outline-dark" aria-pressed="false" data-review="{review_pk}"'


def _report_link(review_pk, reported):
    # The card renders the same template with the same URL: the strings match exactly.
    context = {"report_url": reverse("reviews:report", kwargs={"pk": review_pk})}
    return render_to_string("reviews/_report_link.html", {**context, "reported": reported})


def personalize(
    html,
    request,
    *,
    voted_review_ids=(),
    reported_review_ids=(),
    own_review=None,
    listed_ids=(),
):
    """A shared copy made for AnyMember, with this reader's parts written in."""
    reader = request.user
    html = html.replace(_csrf_placeholder(), get_token(request))
    html = html.replace(
        "/" + placeholder("member-url") + "/", conditional_escape(reader.get_absolute_url())
    )
    html = html.replace(placeholder("member-name"), conditional_escape(reader.username))
    for review_pk in voted_review_ids:
        html = html.replace(_vote_button(review_pk, False), _vote_button(review_pk, True))
    for review_pk in reported_review_ids:
        html = html.replace(_report_link(review_pk, False), _report_link(review_pk, True))
    if own_review is not None and own_review.pk in listed_ids:
        html = _replace_card(html, own_review.pk)
    return html


def shared_form_html(request, *, parts, scopes, template_name, context):
    """A form rendered once for every member (its widgets are slow to render), with the
    reader's CSRF token written into the shared copy."""
    html = cached_fragment(
        request,
        parts,
        lambda: render_to_string(template_name, {**context, "csrf_token": _csrf_placeholder()}),
        scopes=scopes,
    )
    return mark_safe(html.replace(_csrf_placeholder(), get_token(request)))


class ReviewListing:
    """The reviews part of a title page for one request."""

    def __init__(self, request, *, reader, title, reviews, sort, total):
        self.request = request
        self.reader = reader
        self.member = reader.is_authenticated
        audience = "member" if self.member else "visitor"
        self._shared = cached_fragment(
            request,
            ("title-reviews", title.pk, audience, request.get_full_path()),
            lambda: self._render_shared(reviews, sort, total),
            scopes=[f"title:{title.pk}"],
        )

    def _render_shared(self, reviews, sort, total):
        page = paginate_reviews(
            reviews,
            sort=sort,
            total=total,
            after=self.request.GET.get("after"),
            before=self.request.GET.get("before"),
            last=self.request.GET.get("page") == "last",
        )
        html = render_to_string(
            "reviews/_review_list.html",
            {
                "reviews_page": page,
                "request": self.request,
                "user": AnyMember() if self.member else AnonymousUser(),
                "csrf_token": _csrf_placeholder() if self.member else "",
                "voted_review_ids": (),
                "reported_review_ids": (),
            },
        )
        return {"html": html, "review_ids": [review.pk for review in page]}

    @property
    def review_ids(self):
        return self._shared["review_ids"]

    @cached_property
    def _html(self):
        return self._shared["html"]

    def html_for(self, *, voted_review_ids=(), reported_review_ids=(), own_review=None):
        """The shared copy with this reader's marks written in (left as placeholders when
        the reader is AnyMember: the copy is going into a shared page)."""
        html = self._html
        if self.member and not isinstance(self.reader, AnyMember):
            html = personalize(
                html,
                self.request,
                voted_review_ids=voted_review_ids,
                reported_review_ids=reported_review_ids,
                own_review=own_review,
                listed_ids=self.review_ids,
            )
        return mark_safe(html)

    def reader_marks(self, also=()):
        """Which listed reviews (and `also`) the reader has marked helpful, and which
        they have reported: (voted ids, reported ids), one query."""
        review_ids = [*self.review_ids, *(review.pk for review in also if review)]
        return HelpfulVote.objects.marks_by(self.reader, review_ids)


def _replace_card(html, review_pk):
    """The member's own review, already at the top of the page, becomes a pointer to it."""
    start = html.find(f'id="review-{review_pk}">')
    start = html.rfind("<article", 0, start)
    end = html.find("</article>", start)
    if start < 0 or end < 0:
        return html
    pointer = format_html(
        '<p class="review-card-pointer" id="review-{}"><a href="#your-review">{}</a></p>',
        review_pk,
        _("Your review: shown at the top of this page."),
    )
    return html[:start] + pointer + html[end + len("</article>") :]
