import csv
import json

from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import IntegrityError, transaction
from django.db.models import Avg, Count, Q
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_safe

from reviews.forms import rating_label
from reviews.models import HelpfulVote, Review
from reviews.services import account_delete
from stepup_site.ratelimits import rate_limited
from stepup_site.request_guards import safe_next_url

from .forms import AccountDeleteForm, SignUpForm
from .models import User

PROFILE_REVIEWS_PER_PAGE = 20


@require_http_methods(["GET", "POST"])
@rate_limited("signup", key="ip")
def signup(request):
    next_url = safe_next_url(request, "")
    if request.user.is_authenticated:
        return HttpResponseRedirect(next_url or reverse("films:home"))
    form = SignUpForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            with transaction.atomic():
                user = form.save()
        except IntegrityError:
            # The same username or email signed up a moment ago, between check and save.
            form.add_error(None, _("That username or email address was just taken. Try another."))
            return render(
                request, "registration/signup.html", {"form": form, "next": next_url}, status=400
            )
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(request, _("Welcome, %(name)s! Your account is ready.") % {"name": user})
        return HttpResponseRedirect(next_url or reverse("films:home"))
    return render(
        request,
        "registration/signup.html",
        {"form": form, "next": next_url},
        status=400 if form.errors else 200,
    )


def rating_distribution(reviews):
    """One query: how many of these reviews give each half-star rating, and the average."""
    counted = reviews.aggregate(
        total=Count("id"),
        average=Avg("rating"),
        **{f"r{value}": Count("id", filter=Q(rating=value)) for value in range(1, 11)},
    )
    largest = max([counted[f"r{value}"] for value in range(1, 11)] + [1])
    return {
        "total": counted["total"],
        "average_stars": counted["average"] / 2 if counted["average"] is not None else None,
        "buckets": [
            {
                "value": value,
                "stars": value / 2,
                "count": counted[f"r{value}"],
                "percent_of_largest": round(100 * counted[f"r{value}"] / largest),
            }
            for value in range(1, 11)
        ],
    }


@require_safe
def profile(request, username):
    member = get_object_or_404(User, username=username)
    # A member sees their own reviews whatever their status; everyone else, and every
    # statistic, only the published ones.
    reviews = Review.objects.filter(author=member)
    if request.user != member:
        reviews = reviews.published()
    reviews = reviews.for_listing().order_by("-created_at", "-id")
    stats = rating_distribution(Review.objects.published().filter(author=member))
    paginator = Paginator(reviews, PROFILE_REVIEWS_PER_PAGE)
    paginator.count = stats["total"] if request.user != member else reviews.count()
    page = paginator.get_page(request.GET.get("page"))
    return render(
        request,
        "accounts/profile.html",
        {
            "member": member,
            "stats": stats,
            "reviews_page": page,
            "voted_review_ids": HelpfulVote.objects.review_ids_voted_by(request.user, page),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
@rate_limited("password_check")
def delete_account(request):
    form = AccountDeleteForm(request.POST if request.method == "POST" else None, user=request.user)
    if request.method == "POST" and form.is_valid():
        account_delete(user=request.user)
        logout(request)
        messages.success(request, _("Your account and everything you posted are deleted."))
        return redirect("films:home")
    return render(
        request,
        "accounts/delete.html",
        {"form": form},
        status=400 if form.errors else 200,
    )


def spreadsheet_safe(text):
    """A cell a spreadsheet shows as text: one starting =, +, - or @ would run as a formula."""
    return f"'{text}" if text[:1] in {"=", "+", "-", "@"} else text


def _export_rows(request):
    reviews = Review.objects.filter(author=request.user).select_related("title")
    for review in reviews.order_by("created_at", "id"):
        yield {
            "title": review.title.name,
            "year": review.title.release_year,
            "rating_stars": review.rating / 2,
            "rating": str(rating_label(review.rating)),
            "headline": review.headline,
            "review": review.body,
            "contains_spoilers": review.contains_spoilers,
            "posted": review.created_at.isoformat(),
            "edited": review.updated_at.isoformat(),
            "status": str(review.get_status_display()),
            "url": request.build_absolute_uri(review.get_absolute_url()),
        }


EXPORT_FIELDS = [
    "title",
    "year",
    "rating_stars",
    "rating",
    "headline",
    "review",
    "contains_spoilers",
    "posted",
    "edited",
    "status",
    "url",
]


@login_required
@require_safe
def export_reviews(request, export_format):
    filename = f"stepup-reviews-{request.user.username}.{export_format}"
    rows = list(_export_rows(request))
    if export_format == "json":
        response = HttpResponse(
            json.dumps({"username": request.user.username, "reviews": rows}, indent=2),
            content_type="application/json",
        )
    else:
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response.write("\ufeff")  # a byte-order mark, so spreadsheet apps read UTF-8 (½)
        writer = csv.DictWriter(response, fieldnames=EXPORT_FIELDS)
        writer.writeheader()
        for row in rows:
            writer.writerow(
                {
                    key: spreadsheet_safe(value) if isinstance(value, str) else value
                    for key, value in row.items()
                }
            )
    response["Content-Disposition"] = content_disposition_header(True, filename)
    return response
