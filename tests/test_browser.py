"""Real Chromium, driven by Playwright, against the live test server."""

import re

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
    paths = (
        *("/", "/titles/step-up-all-in/", "/crews/lmntrix/", "/people/adam-sevani/"),
        "/characters/",
        *("/routines/", "/routines/las-vegas-finale/"),  # the table scrolls inside its box
    )
    for path in paths:
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


def settled(page, box):
    """Waits for a box's scrolling to come to rest: arrow keys scroll smoothly, and a
    position read mid-way (on a loaded machine) is not where the headers end up."""
    last = None
    for _ in range(40):
        now = box.evaluate("box => [box.scrollLeft, box.scrollTop]")
        if now == last:
            return
        last = now
        page.wait_for_timeout(100)


def test_the_timeline_scrolls_by_keyboard_on_a_phone_keeping_its_headers_in_view(
    live_server, catalog, playwright_browser
):
    context = playwright_browser.new_context(viewport=PHONE)
    page = context.new_page()
    page.goto(live_server.url + "/characters/")
    region = page.get_by_role("region", name=re.compile("^Characters across the franchise"))
    page.get_by_role("link", name=re.compile("^Only the .* returning characters$")).focus()
    page.keyboard.press("Tab")
    expect(region).to_be_focused()
    for _ in range(8):
        page.keyboard.press("ArrowRight")
    settled(page, region)
    assert region.evaluate("box => box.scrollLeft") > 0
    left = region.bounding_box()["x"]
    # The characters' column stays at the left edge while the titles scroll past.
    assert page.get_by_role("rowheader", name="Moose").bounding_box()["x"] <= left + 2
    for _ in range(8):
        page.keyboard.press("ArrowDown")
    settled(page, region)
    assert region.evaluate("box => box.scrollTop") > 0
    top = region.bounding_box()["y"]
    # And the titles' row at the top while the characters scroll past.
    corner = page.get_by_role("columnheader", name="Character", exact=True).bounding_box()
    assert top <= corner["y"] <= top + 2 and corner["x"] <= left + 2
    context.close()


def test_a_new_member_signs_up_reviews_edits_votes_comments_and_reports(
    live_server, catalog, page, run_queued_tasks
):
    from django.core import mail

    from films.models import Title
    from reviews.models import Comment, Report
    from tests.factories import UserFactory, review

    all_in = Title.objects.get(slug="step-up-all-in")
    others_review = review(
        title=all_in, author=UserFactory(username="krumpqueen"), rating=10, body="The finale!"
    )

    # Sign up from the title page, and come back to it.
    page.goto(f"{live_server.url}/titles/step-up-all-in/")
    page.get_by_role("link", name="create an account").click()
    page.get_by_label("Username").fill("newfan")
    page.get_by_label("Email address").fill("newfan@example.org")
    page.locator("#id_password1").fill("battle-in-vegas-2014")
    page.get_by_label("Password confirmation").fill("battle-in-vegas-2014")
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your inbox")
    expect(page.get_by_role("main")).to_contain_text("newfan@example.org")
    # The link emailed to the address (sent by the queue's worker) confirms and signs in.
    run_queued_tasks()
    [confirmation] = mail.outbox
    page.goto(re.search(r"http://\S+/accounts/signup/confirm/\S+", confirmation.body).group())
    page.get_by_label("The password you chose").fill("battle-in-vegas-2014")
    page.get_by_role("button", name="Confirm and sign in").click()
    expect(page).to_have_url(f"{live_server.url}/titles/step-up-all-in/#your-review")
    expect(page.get_by_role("link", name="newfan")).to_be_visible()

    # Rate with the star input: the mouse on the 4th star's left half, then the
    # keyboard one step up, to three and a half... then four stars.
    stars = page.get_by_role("group", name="Your rating")
    stars.locator("label").nth(6).click()  # 3½ stars
    expect(stars.get_by_role("radio", name="3½ stars")).to_be_checked()
    # Drawn as chosen: seven half-stars gold, the rest grey (mouse moved away from hovering).
    page.mouse.move(0, 0)
    colours = stars.locator("label").evaluate_all(
        "labels => labels.map(label => getComputedStyle(label).color)"
    )
    assert colours == ["rgb(227, 155, 0)"] * 7 + ["rgb(201, 201, 201)"] * 3
    page.keyboard.press("ArrowRight")
    expect(stars.get_by_role("radio", name="4 stars")).to_be_checked()
    page.get_by_label("Headline (optional)").fill("All in, all heart")
    page.get_by_label("Your review (optional: a rating alone is fine)").fill(
        "The crew reunion works."
    )
    page.get_by_role("button", name="Post").click()

    expect(page.get_by_role("status").first).to_contain_text("Your review is posted.")
    own = page.locator("#own-review")
    expect(own).to_contain_text("All in, all heart")
    expect(own.get_by_role("img", name="4 out of 5 stars")).to_be_visible()
    # Exact: the histogram beside it reads "4.5 ★" whatever the average.
    expect(page.locator("#rating-average")).to_have_text("4.5")  # (10 + 8) / 2 half-stars
    expect(page.locator("#rating-count")).to_have_text("2 ratings")

    # Edit it.
    own.get_by_role("link", name="Edit").click()
    page.get_by_role("group", name="Your rating").locator("label").nth(9).click()  # 5 stars
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_role("status").first).to_contain_text("Your review is updated.")
    expect(page.locator("#rating-average")).to_have_text("5.0")

    # Vote on the other member's review: no page reload with JavaScript on.
    card = page.locator(f"#review-{others_review.pk}")
    page.evaluate("window.stillTheSamePage = true")
    card.get_by_role("button", name="Helpful").click()
    expect(card).to_contain_text("1 person found this helpful")
    expect(card.get_by_role("button", name="Helpful")).to_have_attribute("aria-pressed", "true")
    assert page.evaluate("window.stillTheSamePage") is True

    # Comment on it.
    card.get_by_role("link", name="0 comments").click()
    page.get_by_label("Your comment").fill("Agreed, that toss-and-catch!")
    page.get_by_role("button", name="Post comment").click()
    expect(page.locator("#comments")).to_contain_text("Agreed, that toss-and-catch!")
    expect(page.locator("#comments")).to_contain_text("1 comment")

    # Report it.
    page.locator(f"#review-{others_review.pk}").get_by_role("link", name="Report").click()
    page.get_by_label("Unmarked spoilers").check()
    page.get_by_label("Anything the moderators should know (optional)").fill("Ending in line 1")
    page.get_by_role("button", name="Send report").click()
    expect(page.get_by_role("status").first).to_contain_text("the moderators will look")

    assert Comment.objects.get().body == "Agreed, that toss-and-catch!"
    assert Report.objects.get().reason == "spoilers"


def test_a_moderator_removes_a_reported_review_from_the_queue(live_server, catalog, page):
    from django.contrib.auth.models import Group

    from films.models import Title
    from reviews import services
    from tests.conftest import ensure_roles
    from tests.factories import UserFactory, review

    all_in = Title.objects.get(slug="step-up-all-in")
    review(title=all_in, rating=10, body="A fair review")
    bad = review(
        title=all_in,
        rating=1,
        body="Buy cheap sneakers here",
        author=UserFactory(username="spammer"),
    )
    services.report_create(reporter=UserFactory(), review=bad, reason="spam", note="An advert")
    ensure_roles()  # a transactional test may run after another one flushed the groups
    moderator = UserFactory(username="mod", is_staff=True, password="moderate-all-day-1")
    moderator.groups.add(Group.objects.get(name="Moderators"))

    page.goto(f"{live_server.url}/titles/step-up-all-in/")
    expect(page.locator("#rating-count")).to_have_text("2 ratings")
    expect(page.locator("#reviews")).to_contain_text("Buy cheap sneakers here")

    page.goto(f"{live_server.url}/admin/")
    page.get_by_label("Username").fill("mod")
    page.get_by_label("Password").fill("moderate-all-day-1")
    page.get_by_role("button", name="Log in").click()
    # The review list is the queue: the app section and the model are both called "Reviews".
    page.locator("#content-main").get_by_role("link", name="Reviews").last.click()
    expect(page).to_have_url(f"{live_server.url}/admin/reviews/review/")
    first_row = page.locator("#result_list tbody tr").first
    expect(first_row).to_contain_text("Spam: An advert")
    first_row.get_by_role("checkbox").check()
    page.locator("select[name=action]").select_option(label="Remove, with a reason…")
    page.get_by_role("button", name="Go").click()
    page.get_by_label("Reason, sent to each author").fill("Advertising is not a review.")
    page.get_by_role("button", name="Remove").click()
    expect(page.locator(".messagelist")).to_contain_text("1 item removed")

    page.goto(f"{live_server.url}/titles/step-up-all-in/")
    reviews = page.locator("#reviews")
    expect(reviews).not_to_contain_text("Buy cheap sneakers here")
    expect(reviews.locator("#rating-average")).to_have_text("5.0")
    expect(reviews.locator("#rating-count")).to_have_text("1 rating")


def test_pages_and_the_admin_work_within_the_content_security_policy(live_server, catalog, page):
    """The policy allows no inline code: the star input, the vote script, the menu and the
    admin's own scripts (inlines, prepopulated slugs, action bar) must all come from files.
    The page fixture fails the test on any violation Chromium reports."""
    from films.models import Title
    from tests.factories import UserFactory, review

    all_in = Title.objects.get(slug="step-up-all-in")
    review(title=all_in, rating=9, body="Policy-abiding review")
    UserFactory(username="boss", is_staff=True, is_superuser=True, password="run-the-site-1234")
    page.goto(f"{live_server.url}/admin/login/")
    page.get_by_label("Username").fill("boss")
    page.get_by_label("Password").fill("run-the-site-1234")
    page.get_by_role("button", name="Log in").click()
    for path in (
        "/",
        "/titles/step-up-all-in/",
        "/titles/step-up-all-in/review/",
        "/accounts/signup/",
        "/admin/",
        f"/admin/films/title/{all_in.pk}/change/",
        "/admin/films/title/add/",
        "/admin/reviews/review/",
    ):
        response = page.goto(f"{live_server.url}{path}")
        assert response.status == 200, path
        assert "'unsafe-inline'" not in response.headers["content-security-policy"]
    # The admin's scripts ran: typing a name fills the slug in (prepopulated_fields).
    page.goto(f"{live_server.url}/admin/films/title/add/")
    page.locator("#id_name_en").press_sequentially("Step Up Test Title")
    expect(page.locator("#id_slug")).to_have_value("step-up-test-title")
    # And the site's: the star input answers the keyboard.
    page.goto(f"{live_server.url}/titles/step-up-all-in/review/")
    stars = page.get_by_role("group", name="Your rating")
    stars.locator("label").nth(5).click()  # 3 stars
    page.keyboard.press("ArrowRight")
    expect(stars.get_by_role("radio", name="3½ stars")).to_be_checked()


def sign_in(page, base_url, username, password):
    page.goto(f"{base_url}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def navbar_height(page):
    return page.locator("nav.navbar").evaluate("nav => nav.getBoundingClientRect().height")


@pytest.mark.parametrize("prefix", ["", "/es"], ids=["english", "spanish"])
@pytest.mark.parametrize("signed_in", [False, True], ids=["visitor", "member"])
def test_the_header_stays_on_one_line_on_wide_and_narrow_desktops(
    live_server, catalog, page, signed_in, prefix
):
    from tests.factories import UserFactory

    if signed_in:
        UserFactory(username="krumpqueen-from-vegas", password="battle-in-vegas-2014")
        sign_in(page, live_server.url, "krumpqueen-from-vegas", "battle-in-vegas-2014")
    page.set_viewport_size({"width": 1920, "height": 900})
    page.goto(f"{live_server.url}{prefix}/titles/")
    one_line = navbar_height(page)
    for width in (1400, 1450, 1520, 1599):
        page.set_viewport_size({"width": width, "height": 900})
        assert navbar_height(page) == one_line, f"the header wraps at {width}px"
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"the page scrolls sideways by {overflow}px at {width}px"


def test_the_confirmation_does_not_stay_over_the_review_on_a_phone(
    live_server, catalog, playwright_browser
):
    from tests.factories import UserFactory

    UserFactory(username="newfan", password="battle-in-vegas-2014")
    context = playwright_browser.new_context(viewport=PHONE)
    page = context.new_page()
    sign_in(page, live_server.url, "newfan", "battle-in-vegas-2014")
    page.goto(f"{live_server.url}/titles/step-up-all-in/review/")
    page.get_by_role("group", name="Your rating").locator("label").nth(7).click()
    page.get_by_label("Your review (optional: a rating alone is fine)").fill("Loved it.")
    page.get_by_role("button", name="Post").click()
    message = page.get_by_role("status").filter(has_text="Your review is posted.")
    expect(message).to_be_visible()
    # It goes by itself after a few seconds...
    expect(message).to_be_hidden(timeout=10_000)
    # ...and then nothing lies over the review's own links.
    own = page.locator("#own-review")
    for name in ("Edit", "Delete"):
        link = own.get_by_role("link", name=name, exact=True)
        link.scroll_into_view_if_needed()
        box = link.bounding_box()
        on_top = page.evaluate(
            "([x, y]) => document.elementFromPoint(x, y).closest('a')?.textContent",
            [box["x"] + box["width"] / 2, box["y"] + box["height"] / 2],
        )
        assert on_top == name
    context.close()


def test_a_message_stays_while_the_reader_points_at_it_and_closes_by_its_button(
    live_server, catalog, page
):
    from tests.factories import UserFactory

    UserFactory(username="newfan", password="battle-in-vegas-2014")
    sign_in(page, live_server.url, "newfan", "battle-in-vegas-2014")
    page.goto(f"{live_server.url}/titles/step-up-all-in/review/")
    page.get_by_role("group", name="Your rating").locator("label").nth(7).click()
    page.get_by_role("button", name="Post").click()
    message = page.get_by_role("status").filter(has_text="Your review is posted.")
    message.hover()
    page.wait_for_timeout(7_000)
    expect(message).to_be_visible()
    message.get_by_role("button", name="Close").click()
    expect(message).to_be_hidden()


def test_a_member_sees_what_they_reported_and_whose_review_a_helpful_button_is_for(
    live_server, catalog, page
):
    from films.models import Title
    from tests.factories import UserFactory, review

    all_in = Title.objects.get(slug="step-up-all-in")
    target = review(title=all_in, author=UserFactory(username="krumpqueen"), body="Buy here")
    UserFactory(username="newfan", password="battle-in-vegas-2014")
    sign_in(page, live_server.url, "newfan", "battle-in-vegas-2014")
    page.goto(f"{live_server.url}/titles/step-up-all-in/")
    card = page.locator(f"#review-{target.pk}")
    expect(
        card.get_by_role("button", name="Helpful: review by krumpqueen", exact=True)
    ).to_be_visible()
    card.get_by_role("link", name="Report", exact=True).click()
    page.get_by_label("Spam").check()
    page.get_by_role("button", name="Send report").click()
    for _ in range(2):  # with the "thank you" message, then from the members' shared copy
        page.goto(f"{live_server.url}/titles/step-up-all-in/")
        card = page.locator(f"#review-{target.pk}")
        expect(card.get_by_text("Reported", exact=True)).to_be_visible()
        expect(card.get_by_role("link", name="Report")).to_have_count(0)


def test_posting_times_are_shown_in_the_readers_time_zone(live_server, catalog, playwright_browser):
    from datetime import UTC, datetime

    from films.models import Title
    from reviews import services
    from reviews.models import Comment, Review
    from tests.factories import UserFactory, review

    written = review(title=Title.objects.get(slug="step-up-all-in"), body="The finale!")
    answer = services.comment_create(review=written, author=UserFactory(), body="Agreed")
    moment = datetime(2026, 1, 15, 3, 30, tzinfo=UTC)  # 10:30 p.m. the day before in New York
    Review.objects.filter(pk=written.pk).update(created_at=moment, updated_at=moment)
    Comment.objects.filter(pk=answer.pk).update(created_at=moment, updated_at=moment)
    context = playwright_browser.new_context(timezone_id="America/New_York", locale="en-US")
    page = context.new_page()
    page.goto(f"{live_server.url}{written.get_absolute_url()}")
    expect(page.locator(f"#review-{written.pk} time")).to_have_text("Jan 14, 2026")
    expect(page.locator(f"#comment-{answer.pk} time")).to_have_text("Jan 14, 2026, 10:30 PM EST")
    context.close()


def test_a_member_changes_their_email_address_from_settings(live_server, page, run_queued_tasks):
    from django.core import mail

    from tests.factories import UserFactory

    UserFactory(username="moosefan", email="moose@example.org", password="run-the-site-1234")
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill("moosefan")
    page.get_by_label("Password").fill("run-the-site-1234")
    page.get_by_role("button", name="Sign in").click()

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Settings").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Settings")
    email = page.get_by_role("region", name="Email address")
    expect(email).to_contain_text("moose@example.org")
    email.get_by_label("New email address").fill("moose@new.example")
    email.get_by_label("Your password, to confirm").fill("run-the-site-1234")
    email.get_by_role("button", name="Change my address").click()
    expect(page.get_by_role("status").first).to_contain_text("We sent a link to moose@new.example")
    expect(page.get_by_role("region", name="Email address")).to_contain_text("moose@example.org")

    run_queued_tasks()
    [confirmation] = [message for message in mail.outbox if message.to == ["moose@new.example"]]
    page.goto(re.search(r"http://\S+/accounts/settings/email/\S+", confirmation.body).group())
    # Opening the link changes nothing yet: the button makes the change.
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Confirm the change of your email address"
    )
    page.get_by_role("button", name="Confirm the change").click()
    expect(page).to_have_url(f"{live_server.url}/accounts/settings/")
    expect(page.get_by_role("status").first).to_contain_text(
        "Your email address is now moose@new.example."
    )
    expect(page.get_by_role("region", name="Email address")).to_contain_text(
        "Your address is moose@new.example"
    )


@pytest.mark.parametrize("javascript", [True, False], ids=["with-js", "without-js"])
def test_a_member_rates_a_routine_with_the_keyboard_and_the_leaderboard_shows_it(
    live_server, catalog, playwright_browser, javascript
):
    from films.models import Routine
    from tests.factories import UserFactory, routine_rating

    finale = Routine.objects.get(slug="las-vegas-finale")
    for rating in (10, 6):  # two members before: 4 stars on average
        routine_rating(routine=finale, rating=rating)
    UserFactory(username="vegasfan", password="battle-in-vegas-2014")
    context = playwright_browser.new_context(
        viewport={"width": 1280, "height": 900}, java_script_enabled=javascript
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    sign_in(page, live_server.url, "vegasfan", "battle-in-vegas-2014")

    page.goto(f"{live_server.url}/routines/")
    row = page.locator("#rank-las-vegas-finale")
    expect(row.locator("td").nth(2)).to_have_text("4.0")  # the average
    expect(row.locator("td").nth(3)).to_have_text("2")  # the votes

    # To the routine's page, then only the keyboard: Tab into the stars, choose with the
    # arrow keys and Space, Tab to the button, Enter.
    row.get_by_role("link", name="The Las Vegas finale").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("The Las Vegas finale")
    stars = page.get_by_role("group", name="Your rating")
    first_star = stars.get_by_role("radio", name="½ star", exact=True)
    for _ in range(60):
        page.keyboard.press("Tab")
        if first_star.evaluate("radio => radio === document.activeElement"):
            break
    expect(first_star).to_be_focused()
    page.keyboard.press("Space")
    expect(first_star).to_be_checked()
    for _ in range(9):
        page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowLeft")
    expect(stars.get_by_role("radio", name="4½ stars")).to_be_checked()
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Rate")).to_be_focused()
    page.keyboard.press("Enter")

    expect(page).to_have_url(f"{live_server.url}/routines/las-vegas-finale/#your-rating")
    expect(page.get_by_role("status").first).to_contain_text(
        "Your rating of The Las Vegas finale is saved."
    )
    expect(page.locator("#routine-rating-count")).to_have_text("3 ratings")
    expect(stars.get_by_role("radio", name="4½ stars")).to_be_checked()

    # The leaderboard has it at once: for this member, and for a visitor (cached pages).
    for viewer in (page, playwright_browser.new_page()):
        viewer.goto(f"{live_server.url}/routines/")
        row = viewer.locator("#rank-las-vegas-finale")
        expect(row.locator("td").nth(2)).to_have_text("4.2")  # (10 + 6 + 9) / 3 half-stars
        expect(row.locator("td").nth(3)).to_have_text("3")
        if viewer is not page:
            viewer.close()
    context.close()


def test_a_reader_switches_to_spanish_signs_in_and_posts_a_review_in_spanish(
    live_server, catalog, playwright_browser
):
    from accounts.models import User
    from reviews.models import Review
    from tests.factories import UserFactory

    UserFactory(username="lectora", password="battle-in-vegas-2014")
    context = playwright_browser.new_context(locale="en-US", viewport=PHONE)
    page = context.new_page()
    page.goto(f"{live_server.url}/titles/step-up-all-in/")
    expect(page.locator("html")).to_have_attribute("lang", "en")

    # The switch is a plain form button, reached and pressed from the keyboard.
    page.get_by_role("button", name="Show or hide the menu").click()
    switch = page.get_by_role("button", name="Español")
    switch.focus()
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{live_server.url}/es/titles/step-up-all-in/")
    expect(page.locator("html")).to_have_attribute("lang", "es")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Step Up: All In")

    # Remembered: the English address now brings this browser to the Spanish page.
    page.goto(f"{live_server.url}/titles/")
    expect(page).to_have_url(f"{live_server.url}/es/titles/")
    page.goto(f"{live_server.url}/es/titles/step-up-all-in/")

    page.get_by_role("button", name="Mostrar u ocultar el menú").click()
    page.get_by_role("link", name="Iniciar sesión").click()
    page.get_by_label("Nombre de usuario").fill("lectora")
    page.get_by_label("Contraseña").fill("battle-in-vegas-2014")
    page.locator("main form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/es/titles/step-up-all-in/"))

    stars = page.get_by_role("group", name="Tu valoración")
    stars.locator("label").nth(8).click()  # 4½ stars
    page.locator("#id_body").fill("¡La coreografía final es lo mejor de toda la saga!")
    expect(page.locator("#id_language")).to_have_value("es")
    page.locator("form.review-form button[type=submit]").click()
    expect(page.get_by_role("status").first).to_be_visible()

    posted = Review.objects.get(author__username="lectora")
    assert posted.language == "es" and posted.rating == 9
    assert User.objects.get(username="lectora").language == "es"
    card = page.locator("article.review-card").filter(has_text="¡La coreografía final").first
    expect(card).to_have_attribute("lang", "es")
    context.close()
