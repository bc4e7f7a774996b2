"""Which language a page is in, and how a visitor reaches the one they prefer.

English pages keep their addresses; Spanish ones live under /es/ (i18n_patterns with
prefix_default_language=False), so the address alone says a page's language and a cached
copy of it is right for everyone who asks for that address. A visitor's preference (the
language cookie set by the switch, else their browser's Accept-Language) only decides where
an unprefixed address sends them.
"""

from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.http import HttpResponseRedirect
from django.urls import get_script_prefix, is_valid_path, translate_url
from django.utils import translation
from django.utils.cache import patch_vary_headers
from django.utils.functional import SimpleLazyObject


def language_codes():
    return [code for code, _name in settings.LANGUAGES]


def path_language(path_info):
    """The language an address is in: its prefix, else the default language."""
    return translation.get_language_from_path(path_info) or settings.LANGUAGE_CODE


def path_without_language(path):
    """The path as it is in English: "/es/accounts/" is an account page as "/accounts/" is."""
    if language := translation.get_language_from_path(path):
        return path[len(language) + 1 :] or "/"
    return path


def _address_in(request, language):
    """The same page's address in `language`, or None when it has none there."""
    path = f"/{language}{request.path_info}"
    with translation.override(language):
        if not is_valid_path(path, getattr(request, "urlconf", None)):
            return None
    query = request.META.get("QUERY_STRING", "")
    address = get_script_prefix() + path.lstrip("/")
    return f"{address}?{query}" if query else address


class PreferredLanguageMiddleware:
    """Sends a visitor who prefers another language from an unprefixed (English) address
    to the same page in their language, and activates the address's language early.

    It stands before the page cache, whose copies are kept by address: an English copy must
    never answer someone who should be redirected, and the cache's own look-ups (which view
    an address is) must resolve /es/ addresses in Spanish.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        language = path_language(request.path_info)
        translation.activate(language)
        if (
            request.method in ("GET", "HEAD")
            and language == settings.LANGUAGE_CODE
            and not translation.get_language_from_path(request.path_info)
        ):
            preferred = translation.get_language_from_request(request)
            if preferred != language and (address := _address_in(request, preferred)):
                response = HttpResponseRedirect(address)
                patch_vary_headers(response, ("Accept-Language", "Cookie"))
                return response
        try:
            return self.get_response(request)
        finally:
            # The next request on this thread (or code after a test's request) starts from
            # the default language, never from this page's.
            translation.deactivate()


def translated_address(address, language):
    """A path on this site (with its query) in `language`, or unchanged if it has none."""
    with translation.override(path_language(urlsplit(address).path)):
        return translate_url(address, language)


def _canonical_query(request):
    """Only the page number, and only beyond the first page: a sort or a filter shows the
    same things as the plain page, so search engines are told to index that one."""
    page = request.GET.get("page", "")
    if page.isascii() and page.isdigit() and 1 < int(page) < 10**6:
        return "?" + urlencode({"page": int(page)})
    return ""


def _page_links(request):
    """The canonical address and the address of the page in each language (absolute)."""
    query = _canonical_query(request)
    canonical = request.build_absolute_uri(request.path) + query
    alternates = []
    for code in language_codes():
        translated = translate_url(request.path, code)
        alternates.append((code, request.build_absolute_uri(translated) + query))
    default = next(url for code, url in alternates if code == settings.LANGUAGE_CODE)
    return {"canonical": canonical, "alternates": alternates, "x_default": default}


def page_links(request):
    """Context processor: `page_links`, worked out only by a template that uses it
    (fragments rendered with the request never pay for it)."""
    return {"page_links": SimpleLazyObject(lambda: _page_links(request))}
