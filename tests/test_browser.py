"""Real Chromium, driven by Playwright, against the live test server."""

import pytest
from playwright.sync_api import expect

from tools.browser import PHONE

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_reader_goes_from_the_home_page_to_all_in_and_sees_its_director_and_cast(
    live_server, catalog, page
):
    page.goto(live_server.url)
    expect(page.get_by_role("heading", level=1)).to_contain_text("Step Up")

    franchise = page.get_by_role("region", name="The franchise in order")
    franchise.get_by_role("link", name="Step Up: All In").click()

    expect(page).to_have_url(f"{live_server.url}/titles/step-up-all-in/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Step Up: All In")
    facts = page.locator("dl.fact-list")
    expect(facts).to_contain_text("Director")
    expect(facts.get_by_role("link", name="Trish Sie")).to_be_visible()
    cast = page.locator("section", has=page.get_by_role("heading", name="Cast"))
    expect(cast.get_by_role("link", name="Adam Sevani")).to_be_visible()
    expect(cast.get_by_role("link", name="Moose")).to_be_visible()
    expect(cast.get_by_role("link", name="Briana Evigan")).to_be_visible()
    # The generated poster really loaded (a broken image has no natural width).
    poster = page.get_by_role("img", name="Poster of Step Up: All In")
    assert poster.evaluate("image => image.complete && image.naturalWidth") == 480


def test_search_box_works_from_the_keyboard(live_server, catalog, page):
    page.goto(live_server.url)
    page.keyboard.press("Tab")
    skip_link = page.get_by_role("link", name="Skip to main content")
    expect(skip_link).to_be_focused()
    page.get_by_label("Search titles, people, characters and crews").fill("andié")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Search")
    page.get_by_role("link", name="Andie West").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Andie West")


def test_phone_width_menu_opens_and_pages_do_not_scroll_sideways(
    live_server, catalog, playwright_browser
):
    context = playwright_browser.new_context(viewport=PHONE)
    page = context.new_page()
    for path in ("/", "/titles/step-up-all-in/", "/crews/lmntrix/", "/people/adam-sevani/"):
        page.goto(live_server.url + path)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{path} scrolls sideways by {overflow}px on a phone"
    page.goto(live_server.url)
    titles_link = page.get_by_role("link", name="Titles", exact=True)
    expect(titles_link).to_be_hidden()
    page.get_by_role("button", name="Show or hide the menu").click()
    expect(titles_link).to_be_visible()
    titles_link.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Titles")
    context.close()
