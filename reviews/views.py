from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods, require_safe

from core.ratelimits import rate_limited
from core.request_guards import safe_next_url
from films import share, structured_data
from films.models import Routine, Title

from . import services
from .forms import CommentForm, ReportForm, ReviewForm, RoutineRatingForm
from .models import (
    Comment,
    HelpfulVote,
    Report,
    Review,
    Status,
)
from .templatetags.review_cards import grouped


@login_required
@require_http_methods(["GET", "POST"])
@rate_limited("review")
def review_edit(request, slug):
    """Write a review of a title, or edit yours: asking twice edits the one you have."""
    title = get_object_or_404(Title, slug=slug)
    review = Review.objects.filter(title=title, author=request.user).first()
    if review is not None:
        # Refused up front with the reason (a 403); the service checks again as it saves.
        services.ensure_author_may_edit(review)
    form = ReviewForm(
        request.POST if request.method == "POST" else None, instance=review, title=title
    )
    if request.method == "POST" and form.is_valid():
        # The form offers only this title's routines: another title's is a form error.
        review, created = services.review_submit(
            title=title, author=request.user, **form.cleaned_data
        )
        if not review.is_published:
            messages.info(
                request, _("Thank you: your review will appear once a moderator approves it.")
            )
        else:
            messages.success(
                request,
                _("Your review is posted.") if created else _("Your review is updated."),
            )
        return redirect(f"{title.get_absolute_url()}#your-review")
    return render(
        request,
        "reviews/review_form.html",
        {"title": title, "form": form, "editing": review is not None},
        status=400 if request.method == "POST" else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
@rate_limited("review")
def review_delete(request, slug):
    title = get_object_or_404(Title, slug=slug)
    review = get_object_or_404(Review, title=title, author=request.user)
    # A removed or held review stays until a moderator acts: a 403 saying why.
    services.ensure_author_may_delete(review)
    if request.method == "POST":
        services.review_delete(review=review)
        messages.success(request, _("Your review is deleted."))
        return redirect(title.get_absolute_url())
    return render(
        request,
        "reviews/confirm.html",
        {
            "heading": _("Delete your review of %(title)s?") % {"title": title.name},
            "message": _("Your rating and review will be gone for good."),
            "action": reverse("reviews:delete", kwargs={"slug": title.slug}),
            "submit_label": _("Delete my review"),
            "cancel_url": title.get_absolute_url(),
        },
    )


def _own_rating_part(routine):
    return f"{routine.get_absolute_url()}#your-rating"


@login_required
@require_http_methods(["GET", "POST"])
@rate_limited("vote")
def routine_rate(request, slug):
    """Rate a routine, or change your rating: a form post, answered by a redirect back to
    the routine's page with a message; a refused rating by the form again (400)."""
    routine = get_object_or_404(Routine.objects.select_related("title"), slug=slug)
    if request.method == "GET":
        # Where sign-in sends a visitor who pressed "Rate": back to the routine's stars.
        return redirect(_own_rating_part(routine))
    form = RoutineRatingForm(request.POST)
    if not form.is_valid():
        return render(
            request,
            "reviews/routine_rating_form.html",
            {"routine": routine, "form": form},
            status=400,
        )
    _rating, created = services.routine_rate(
        routine=routine, member=request.user, rating=form.cleaned_data["rating"]
    )
    messages.success(
        request,
        (
            _("Your rating of %(routine)s is saved.")
            if created
            else _("Your rating of %(routine)s is changed.")
        )
        % {"routine": routine.name},
    )
    return redirect(_own_rating_part(routine))


@login_required
@require_http_methods(["GET", "POST"])
@rate_limited("vote")
def routine_rating_remove(request, slug):
    routine = get_object_or_404(Routine, slug=slug)
    if request.method == "POST":
        if services.routine_rating_remove(routine=routine, member=request.user):
            messages.success(request, _("Your rating is removed."))
        else:
            messages.info(request, _("You had not rated this routine."))
    return redirect(_own_rating_part(routine))


def _visible_reviews(user):
    """Published reviews, the reader's own whatever their status, and everything for
    moderators (not for every staff member: editors keep the catalog only)."""
    reviews = Review.objects.select_related("author", "title", "best_routine")
    return reviews if user.has_perm("reviews.view_review") else reviews.visible_to(user)


@require_safe
def review_detail(request, pk):
    review = get_object_or_404(_visible_reviews(request.user), pk=pk)
    return _review_page(request, review, CommentForm())


def _review_page(request, review, comment_form, status=200):
    voted, reported = HelpfulVote.objects.marks_by(request.user, [review.pk])
    reported_comments = Report.objects.comment_ids_reported_by(request.user, review=review)
    return render(
        request,
        "reviews/review_detail.html",
        {
            "review": review,
            "comments": review.comments.visible_to(request.user).select_related("author"),
            "comment_form": comment_form,
            "voted_review_ids": voted,
            "reported_review_ids": reported,
            "reported_comment_ids": set(reported_comments),
            "share": _review_share(request, review),
            "structured_data": structured_data.json_ld(
                structured_data.breadcrumb_list(
                    request,
                    [
                        (review.title.name, review.title.get_absolute_url()),
                        (_("Review"), review.get_absolute_url()),
                    ],
                )
            ),
        },
        status=status,
    )


def _review_share(request, review):
    names = {"author": review.author.username, "title": review.title.name}
    if review.contains_spoilers or not review.has_text:
        description = _("%(author)s rates %(title)s on Step Up Community.") % names
    else:
        description = share.shortened(review.body)
    return share.page_share(
        request,
        title=_("%(author)s’s review of %(title)s") % names,
        description=description,
        og_type="article",
        image=share.title_share_image_url(review.title),
        image_alt=_("Poster of %(name)s") % {"name": review.title.name},
    )


def _wants_json(request):
    return request.get_preferred_type(["text/html", "application/json"]) == "application/json"


@require_http_methods(["GET", "POST"])
@rate_limited("vote")
def helpful_toggle(request, pk):
    """A toggle for forms (redirects back) and for the page script (answers JSON)."""
    if request.method == "GET":
        # Where sign-in sends a member whose session expired mid-vote: back to the review.
        return redirect(get_object_or_404(Review.objects.published(), pk=pk).get_absolute_url())
    if not request.user.is_authenticated:
        if _wants_json(request):
            return JsonResponse({"error": _("Sign in to vote.")}, status=401)
        return redirect_to_login(request.get_full_path())
    review = get_object_or_404(Review, pk=pk)
    try:
        voted, count = services.helpful_vote_toggle(review=review, voter=request.user)
    except Review.DoesNotExist as gone:
        raise Http404(_("This review has been deleted.")) from gone
    except PermissionDenied as refused:
        if _wants_json(request):
            return JsonResponse({"error": str(refused)}, status=403)
        raise
    if _wants_json(request):
        text = ngettext(
            "%(counter)s person found this helpful", "%(counter)s people found this helpful", count
        ) % {"counter": grouped(count)}
        return JsonResponse({"voted": voted, "helpful_count": count, "helpful_count_text": text})
    messages.success(
        request,
        _("You marked this review helpful.") if voted else _("You took back your helpful mark."),
    )
    return HttpResponseRedirect(safe_next_url(request, review.get_absolute_url()))


@login_required
@require_http_methods(["GET", "POST"])
@rate_limited("comment")
def comment_create(request, pk):
    review = get_object_or_404(_visible_reviews(request.user), pk=pk)
    if request.method == "GET":
        # Where sign-in sends a member whose session expired while commenting.
        return redirect(f"{review.get_absolute_url()}#comments")
    form = CommentForm(request.POST)
    if form.is_valid():
        try:
            comment = services.comment_create(
                review=review, author=request.user, body=form.cleaned_data["body"]
            )
        except Review.DoesNotExist as gone:
            raise Http404(_("This review has been deleted.")) from gone
        messages.success(request, _("Your comment is posted."))
        return redirect(comment.get_absolute_url())
    return _review_page(request, review, form, status=400)


def _own_comment(request, pk):
    comment = get_object_or_404(Comment.objects.select_related("review"), pk=pk)
    if comment.author_id != request.user.pk:
        raise PermissionDenied(_("You can only change your own comments."))
    return comment


def _form_page(request, form, *, heading, submit_label, cancel_url, **context):
    """A page with one form (and what it is about, `quoted`): a 400 once it has errors."""
    return render(
        request,
        "reviews/form_page.html",
        {
            "heading": heading,
            "form": form,
            "submit_label": submit_label,
            "cancel_url": cancel_url,
            **context,
        },
        status=400 if form.errors else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
@rate_limited("comment")
def comment_edit(request, pk):
    comment = _own_comment(request, pk)
    services.ensure_author_may_edit(comment)
    form = CommentForm(request.POST if request.method == "POST" else None, instance=comment)
    if request.method == "POST" and form.is_valid():
        try:
            services.comment_update(comment=comment, body=form.cleaned_data["body"])
        except Comment.DoesNotExist as gone:
            raise Http404(_("This comment has been deleted.")) from gone
        messages.success(request, _("Your comment is updated."))
        return redirect(comment.get_absolute_url())
    return _form_page(
        request,
        form,
        heading=_("Edit your comment"),
        submit_label=_("Save comment"),
        cancel_url=comment.get_absolute_url(),
    )


@login_required
@require_http_methods(["GET", "POST"])
@rate_limited("comment")
def comment_delete(request, pk):
    comment = _own_comment(request, pk)
    services.ensure_author_may_delete(comment)
    if request.method == "POST":
        services.comment_delete(comment=comment)
        messages.success(request, _("Your comment is deleted."))
        return redirect(comment.review.get_absolute_url())
    return render(
        request,
        "reviews/confirm.html",
        {
            "heading": _("Delete your comment?"),
            "message": comment.body,
            "action": reverse("reviews:comment_delete", kwargs={"pk": comment.pk}),
            "submit_label": _("Delete my comment"),
            "cancel_url": comment.get_absolute_url(),
        },
    )


def _report(request, *, review=None, comment=None):
    item = review or comment
    form = ReportForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            services.report_create(
                reporter=request.user, review=review, comment=comment, **form.cleaned_data
            )
        except services.AlreadyReported:
            messages.info(request, _("You have already reported this; the moderators have it."))
        except (Review.DoesNotExist, Comment.DoesNotExist) as gone:
            raise Http404(_("This has been deleted.")) from gone
        else:
            messages.success(request, _("Thank you: the moderators will look at your report."))
        # Enough reports may just have hidden the item: go back to where it was shown.
        review_shown = review or comment.review
        return redirect(
            review.title.get_absolute_url() if review else review_shown.get_absolute_url()
        )
    heading = _("Report this review") if review else _("Report this comment")
    return _form_page(
        request,
        form,
        heading=heading,
        submit_label=_("Send report"),
        cancel_url=item.get_absolute_url(),
        quoted=review.body or review.headline if review else comment.body,
        quoted_author=item.author.username,
    )


@login_required
@require_http_methods(["GET", "POST"])
@rate_limited("report")
def review_report(request, pk):
    # Only what the public can see can be reported: hidden items are already with moderators.
    return _report(request, review=get_object_or_404(Review.objects.published(), pk=pk))


@login_required
@require_http_methods(["GET", "POST"])
@rate_limited("report")
def comment_report(request, pk):
    visible = Comment.objects.published().filter(review__status=Status.PUBLISHED)
    return _report(request, comment=get_object_or_404(visible, pk=pk))
