from core.i18n import path_without_language
from core.request_guards import safe_path


def return_to(request):
    """Where "Sign in" and "Create account" should bring a visitor back to afterwards.

    The page itself, except on the account pages, where it is the page they were
    already on their way back to (their own ?next=, when it is a path here), never the
    sign-in form.
    """
    if path_without_language(request.path).startswith("/accounts/"):
        # The query string only: the body may be one the site refuses unread (the 413 page).
        return {"return_to": safe_path(request, request.GET.get("next"), "")}
    return {"return_to": request.get_full_path()}
