"""The charts in Chromium (issue 17): readable at a phone's 390 px in both languages
without sideways scrolling, and no axe-core violation on the franchise page."""

from pathlib import Path

import pytest

from tests.conftest import skip_or_fail
from tests.factories import review, routine_rating
from tools.browser import PHONE

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AXE = Path(__file__).resolve().parent.parent / "tools/lighthouse/node_modules/axe-core/axe.min.js"


@pytest.fixture
def rated(catalog):
    from films.models import Routine, Title

    for index, title in enumerate(Title.objects.order_by("pk")):
        for rating in (10, 7, 3 + index):
            review(title=title, rating=rating)
    for routine in Routine.objects.order_by("pk")[:11]:
        routine_rating(routine=routine, rating=8)


@pytest.mark.parametrize("prefix", ["", "/es"])
def test_the_charts_fit_a_phone_without_sideways_scrolling(
    live_server, rated, playwright_browser, prefix
):
    context = playwright_browser.new_context(viewport=PHONE)
    page = context.new_page()
    for path in ("/franchise/", "/titles/step-up-all-in/", "/members/"):
        if path == "/members/":
            from reviews.models import Review

            path = Review.objects.order_by("pk").first().author.get_absolute_url()
        page.goto(live_server.url + prefix + path)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{prefix}{path} scrolls sideways by {overflow}px on a phone"
        charts = page.locator("svg.chart-svg")
        assert charts.count() >= 1, path
        for index in range(charts.count()):
            box = charts.nth(index).bounding_box()
            assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], path
            assert box["height"] > 50, path  # drawn, not collapsed
            # Every label, bar and value inside the chart's own box: nothing runs over.
            overrun = charts.nth(index).evaluate(
                """svg => {
                    const frame = svg.getBoundingClientRect();
                    return [...svg.querySelectorAll('text, rect')]
                        .map(e => e.getBoundingClientRect())
                        .filter(r => r.right > frame.right + 1 || r.left < frame.left - 1)
                        .length;
                }"""
            )
            assert overrun == 0, f"{path}: {overrun} elements run past the chart"
    context.close()


def test_the_franchise_page_has_no_axe_core_violations(live_server, rated, page):
    if not AXE.exists():
        skip_or_fail(
            f"{AXE} is missing: npm ci --prefix tools/lighthouse --no-audit --no-fund "
            "--ignore-scripts (make test does it when npm is there)"
        )
    for path in ("/franchise/", "/es/franchise/"):
        page.goto(live_server.url + path)
        # Evaluated as the page's own code would be, not loaded from a <script>: the
        # Content-Security-Policy stays as it is.
        page.evaluate(AXE.read_text(encoding="utf-8"))
        # Open the tables too, so they are checked as well.
        page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
        result = page.evaluate("async () => await axe.run(document)")
        violations = [
            f"{v['id']}: {v['help']} ({[n['target'] for n in v['nodes']][:3]})"
            for v in result["violations"]
        ]
        assert not violations, f"{path}: {violations}"
