import csv
import json

from axes.utils import reset as reset_sign_in_failures
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import LoginView, PasswordResetConfirmView
from django.core.exceptions import BadRequest
from django.core.paginator import Paginator
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from core.i18n import language_codes, translated_address
from core.ratelimits import rate_limited
from core.request_guards import safe_next_url, safe_path
from films import share, structured_data
from reviews.charts import community_histogram, member_distribution_figure
from reviews.forms import rating_label
from reviews.models import HelpfulVote, Review
from reviews.selectors import member_rating_stats, member_reviews

from . import services
from .forms import (
    AccountDeleteForm,
    EmailAddressForm,
    EmailChangeForm,
    SignUpConfirmForm,
    SignUpForm,
)
from .models import User
from .tasks import enqueue_on_commit, send_signup_confirmation

PROFILE_REVIEWS_PER_PAGE = 20


# Where the sign-up pages remember which address to tell the visitor to look in.
SIGNUP_EMAIL_SESSION_KEY = "accounts:signup_email"


def _form_page(request, template, form, **context):
    """A page showing `form`: a 400 once it has errors."""
    return render(request, template, {"form": form, **context}, status=400 if form.errors else 200)


def _site_url(request):
    return request.build_absolute_uri("/").rstrip("/")


@require_http_methods(["GET", "POST"])
@rate_limited("signup", key="ip")
# Every sign-up mails the address (a link, or "someone tried"): no flooding an inbox.
@rate_limited("password_reset_email", key="core.ratelimits.posted_email")
def signup(request):
    next_url = safe_next_url(request, "")
    if request.user.is_authenticated:
        return HttpResponseRedirect(next_url or reverse("films:home"))
    if request.method == "POST":
        services.unconfirmed_accounts_prune()
    form = SignUpForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            services.sign_up(
                username=form.cleaned_data["username"],
                email=form.cleaned_data["email"],
                password=form.cleaned_data["password1"],
                next_url=next_url,
                site_url=_site_url(request),
                language=get_language(),
            )
        except services.UsernameTaken:
            form.add_error("username", _("That username was just taken. Try another."))
            return render(
                request, "registration/signup.html", {"form": form, "next": next_url}, status=400
            )
        # The same page whether or not the address had an account: only its owner learns
        # which, from the email.
        request.session[SIGNUP_EMAIL_SESSION_KEY] = form.cleaned_data["email"]
        return redirect("accounts:signup_done")
    return _form_page(request, "registration/signup.html", form, next=next_url)


def _remember_language(response, language):
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        path=settings.LANGUAGE_COOKIE_PATH,
        domain=settings.LANGUAGE_COOKIE_DOMAIN,
        secure=settings.LANGUAGE_COOKIE_SECURE,
        httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
        samesite=settings.LANGUAGE_COOKIE_SAMESITE,
    )
    return response


def _switch_language(request):
    language = request.POST.get("language", "")
    if language not in language_codes():
        raise BadRequest(_("Choose one of the site’s languages."))
    back_to = safe_next_url(request, reverse("films:home"))
    response = HttpResponseRedirect(translated_address(back_to, language))
    if request.user.is_authenticated and request.user.language != language:
        request.user.language = language
        request.user.save(update_fields=["language"])
    return _remember_language(response, language)


# A visitor's page carries no CSRF token (a page with one cannot be kept in the shared
# cache), and switching language changes only their own cookie. A member's choice is also
# stored on their account, so for them the token is required.
_switch_language_for_member = csrf_protect(_switch_language)


@csrf_exempt
@require_POST
def language_switch(request):
    """The header's switch: remembers the language chosen (cookie; for a member, the
    account too) and goes back to the same page in that language."""
    if request.user.is_authenticated:
        return _switch_language_for_member(request)
    return _switch_language(request)


class SignIn(LoginView):
    """Django's sign-in, going on in the member's language.

    The latest choice wins: one made on this browser (the switch's cookie) is stored on the
    account; without one, the account's language is used; an account with none takes the
    language of the page the member signed in on.
    """

    def form_valid(self, form):
        response = super().form_valid(form)
        member = form.get_user()
        chosen = self.request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        language = chosen if chosen in language_codes() else (member.language or get_language())
        if member.language != language:
            member.language = language
            member.save(update_fields=["language"])
        if language != get_language():
            response["Location"] = translated_address(response["Location"], language)
        return _remember_language(response, language)


class PasswordResetConfirm(PasswordResetConfirmView):
    """Django's, also ending any pause on signing in to the account: its owner has just
    proved they read its email, so the failures counted against it (theirs or anyone's)
    no longer stand between them and their account."""

    def form_valid(self, form):
        response = super().form_valid(form)
        reset_sign_in_failures(username=form.user.get_username())
        return response


@require_safe
def signup_done(request):
    return render(
        request,
        "registration/signup_done.html",
        {
            "email": request.session.get(SIGNUP_EMAIL_SESSION_KEY, ""),
            "days": services.CONFIRMATION_MAX_AGE.days,
        },
    )


@require_http_methods(["GET", "POST"])
@rate_limited("signup", key="ip")
@rate_limited("password_reset_email", key="core.ratelimits.posted_email")
def signup_resend(request):
    form = EmailAddressForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        # Whether an account waits on the address is looked up by the worker, so the
        # answer and the time it takes are the same for any address.
        enqueue_on_commit(
            send_signup_confirmation,
            email=form.cleaned_data["email"],
            site_url=_site_url(request),
            language=get_language(),
        )
        request.session[SIGNUP_EMAIL_SESSION_KEY] = form.cleaned_data["email"]
        return redirect("accounts:signup_done")
    return _form_page(request, "registration/signup_resend.html", form)


@require_http_methods(["GET", "POST"])
@rate_limited("password_check")
def signup_confirm(request, token):
    """The emailed link shows the account's name and asks for its password; sending the
    right one confirms and signs in. Opening the link alone changes nothing, so a mail
    scanner following links cannot use it up; and a link to an account someone else made
    with your address (they signed up first) is no way into it without their password."""
    try:
        member, next_url = services.signup_token_read(token)
        form = SignUpConfirmForm(request.POST if request.method == "POST" else None, user=member)
        if form.is_valid():
            services.signup_confirm(member=member)
    except services.LinkRefused as refused:
        return render(
            request, "registration/signup_confirm.html", {"refused": str(refused)}, status=400
        )
    if not form.is_valid():
        return _form_page(request, "registration/signup_confirm.html", form, member=member)
    request.session.pop(SIGNUP_EMAIL_SESSION_KEY, None)
    login(request, member, backend="accounts.backends.MemberBackend")
    messages.success(request, _("Welcome, %(name)s! Your account is ready.") % {"name": member})
    return HttpResponseRedirect(safe_path(request, next_url, reverse("films:home")))


@require_safe
def profile(request, username):
    # An account still waiting for its address to be confirmed is no member yet.
    member = get_object_or_404(User, username=username, email_confirmed=True)
    reviews = member_reviews(member, reader=request.user)
    stats = member_rating_stats(member)
    # Beside the member's own distribution, the community's: from the titles' stored
    # histograms (one query over seven rows), never from the reviews table.
    distribution = (
        member_distribution_figure(member, stats["buckets"], community_histogram())
        if stats["total"]
        else None
    )
    paginator = Paginator(reviews, PROFILE_REVIEWS_PER_PAGE)
    paginator.count = stats["total"] if request.user != member else reviews.count()
    page = paginator.get_page(request.GET.get("page"))
    voted, reported = HelpfulVote.objects.marks_by(request.user, [review.pk for review in page])
    return render(
        request,
        "accounts/profile.html",
        {
            "member": member,
            "stats": stats,
            "distribution": distribution,
            "reviews_page": page,
            "voted_review_ids": voted,
            "reported_review_ids": reported,
            "share": share.page_share(
                request,
                title=member.username,
                description=_("%(name)s’s ratings and reviews of the Step Up films and series.")
                % {"name": member.username},
                og_type="profile",
            ),
            "structured_data": structured_data.json_ld(
                structured_data.breadcrumb_list(
                    request, [structured_data.home_trail(), (member.username, request.path)]
                )
            ),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
@rate_limited("password_check")
def delete_account(request):
    form = AccountDeleteForm(request.POST if request.method == "POST" else None, user=request.user)
    if request.method == "POST" and form.is_valid():
        services.account_delete(user=request.user)
        logout(request)
        messages.success(request, _("Your account and everything you posted are deleted."))
        return redirect("films:home")
    return _form_page(request, "accounts/delete.html", form)


def spreadsheet_safe(text):
    """A cell a spreadsheet shows as text: one starting =, +, - or @ would run as a formula."""
    return f"'{text}" if text[:1] in {"=", "+", "-", "@"} else text


def _export_rows(request):
    reviews = Review.objects.filter(author=request.user).select_related("title", "best_routine")
    for review in reviews.order_by("created_at", "id"):
        yield {
            "title": review.title.name,
            "year": review.title.release_year,
            "rating_stars": review.rating / 2,
            "rating": str(rating_label(review.rating)),
            "headline": review.headline,
            "review": review.body,
            "contains_spoilers": review.contains_spoilers,
            "best_routine": review.best_routine.name if review.best_routine else "",
            "language": review.language,
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
    "best_routine",
    "language",
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


@login_required
@require_safe
def account_settings(request):
    return render(
        request, "accounts/settings.html", {"email_form": EmailChangeForm(user=request.user)}
    )


@login_required
@require_http_methods(["POST"])
@rate_limited("password_check")
def email_change(request):
    form = EmailChangeForm(request.POST, user=request.user)
    if not form.is_valid():
        return render(request, "accounts/settings.html", {"email_form": form}, status=400)
    services.email_change_request(
        member=request.user, new_email=form.cleaned_data["email"], site_url=_site_url(request)
    )
    # Said the same whether or not the new address has an account.
    messages.success(
        request,
        _(
            "We sent a link to %(address)s: your address changes when you open it and confirm. "
            "We told your current address too."
        )
        % {"address": form.cleaned_data["email"]},
    )
    return redirect("accounts:settings")


@require_http_methods(["GET", "POST"])
def email_change_confirm(request, token):
    """The link emailed to the new address shows a button; pressing it makes the change
    (pressing it again only shows the result), then the settings page shows the address.
    Opening the link alone changes nothing: a mail scanner following links, or whoever got
    it through a mistyped address, does not move the account."""
    try:
        if request.method == "GET":
            member, new_email = services.email_change_token_read(token)
            return render(
                request,
                "accounts/email_change_confirm.html",
                {"member": member, "new_email": new_email},
            )
        member = services.email_change_confirm(token=token)
    except services.LinkRefused as refused:
        return render(
            request, "accounts/email_change_refused.html", {"refused": str(refused)}, status=400
        )
    messages.success(
        request, _("Your email address is now %(address)s.") % {"address": member.email}
    )
    return redirect("accounts:settings")
