from django.shortcuts import render
from django.utils.translation import get_language
from django.views.decorators.http import require_safe

from films import share, structured_data

from .forms import SearchForm
from .selectors import SEARCH_RESULTS_LIMIT, catalog_search


@require_safe
def search(request):
    form = SearchForm(request.GET or None)
    found = None
    if form.is_valid():
        # The active language picks the text searched first and shown (English where a
        # record has no Spanish text yet).
        found = catalog_search(form.cleaned_data["q"], language=get_language())
    return render(
        request,
        "search/search.html",
        {
            "form": form,
            # Echoed into the page title and the search box: NUL characters dropped.
            "search_query": request.GET.get("q", "").replace("\x00", "")[:100],
            "found": found,
            "limit": SEARCH_RESULTS_LIMIT,
            "share": share.list_share(request, "films:search"),
            "structured_data": structured_data.list_page_data(request, "films:search"),
        },
    )
