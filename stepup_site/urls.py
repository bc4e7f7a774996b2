import re

from django.conf import settings
from django.conf.urls.i18n import i18n_patterns
from django.contrib import admin
from django.contrib.auth.views import PasswordChangeView, PasswordResetView
from django.contrib.sitemaps.views import sitemap
from django.http import HttpResponse, HttpResponsePermanentRedirect
from django.templatetags.static import static
from django.urls import include, path, re_path
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from django.views.generic import TemplateView
from django.views.static import serve

from accounts.forms import PasswordResetForm, SignInForm
from accounts.views import PasswordResetConfirm, SignIn, language_switch
from core.ratelimits import rate_limited
from films.sitemaps import SITEMAPS


@never_cache
def healthz(request):
    """Liveness for load balancers: answers without touching the database or the cache."""
    return HttpResponse("ok", content_type="text/plain")


@require_safe
def favicon(request):
    """Browsers and crawlers ask for /favicon.ico whatever the page's <link rel=icon> says:
    for good to the icon itself (hashed, so the redirect may be kept as long as it is)."""
    return HttpResponsePermanentRedirect(static("favicon.svg"))


admin.site.site_header = _("Step Up Community administration")
admin.site.site_title = _("Step Up Community admin")
admin.site.index_title = _("Catalog and community")

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("favicon.ico", favicon, name="favicon"),
    path("sitemap.xml", sitemap, {"sitemaps": SITEMAPS}, name="sitemap"),
    path(
        "robots.txt",
        TemplateView.as_view(template_name="robots.txt", content_type="text/plain"),
        name="robots",
    ),
    # The language switch: outside the language prefixes, since it moves between them.
    path("i18n/setlang/", language_switch, name="set_language"),
]

# English pages keep the addresses they always had; Spanish ones are under /es/.
urlpatterns += i18n_patterns(
    path("admin/", admin.site.urls),
    # Signed-in members asking for the sign-in page go on to where they were headed.
    path(
        "accounts/login/",
        SignIn.as_view(redirect_authenticated_user=True, authentication_form=SignInForm),
        name="login",
    ),
    # Each request may send an email: limited per client address.
    path(
        "accounts/password_reset/",
        rate_limited("password_reset", key="ip")(
            rate_limited("password_reset_email", key="core.ratelimits.posted_email")(
                PasswordResetView.as_view(form_class=PasswordResetForm)
            )
        ),
        name="password_reset",
    ),
    path(
        "accounts/password_change/",
        rate_limited("password_check")(PasswordChangeView.as_view()),
        name="password_change",
    ),
    path(
        "accounts/reset/<uidb64>/<token>/",
        PasswordResetConfirm.as_view(),
        name="password_reset_confirm",
    ),
    path("accounts/", include("django.contrib.auth.urls")),
    path("", include("accounts.urls")),
    path("", include("reviews.urls")),
    path("", include("films.urls")),
    prefix_default_language=False,
)

if settings.SERVE_MEDIA:
    # Uploaded posters, where no web server or object storage serves them.
    media_prefix = re.escape(settings.MEDIA_URL.lstrip("/"))
    urlpatterns += [
        re_path(rf"^{media_prefix}(?P<path>.*)$", serve, {"document_root": settings.MEDIA_ROOT}),
    ]

handler400 = "stepup_site.views.bad_request"
handler403 = "stepup_site.views.permission_denied"
handler500 = "stepup_site.views.server_error"
