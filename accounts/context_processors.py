from stepup_site.request_guards import safe_next_url


def return_to(request):
    """Where "Sign in" and "Create account" should bring a visitor back to afterwards.

    The page itself, except on the account pages, where it is the page they were
    already on their way back to (their own ?next=, when it is a path here), never the
    sign-in form.
    """
    if request.path.startswith("/accounts/"):
        return {"return_to": safe_next_url(request, "")}
    return {"return_to": request.get_full_path()}
