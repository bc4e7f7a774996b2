import pytest
from django.conf import settings
from django.forms import modelform_factory
from django.test import Client
from django.urls import reverse

from films.models import Title
from reviews import moderation, services
from reviews.models import REVIEW_SORT_KEYS, Comment, HelpfulVote, Report, Review
from reviews.pagination import page_url
from tests.factories import (
    CastCreditFactory,
    CrewFactory,
    PersonFactory,
    RoutineFactory,
    StaffUserFactory,
    TitleFactory,
    UserFactory,
    review,
)
from tests.html import (
    ReviewList,
    assert_valid_accessible_page,
    element,
    element_text,
    elements_with_class,
    page_text,
    text_of,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def title():
    return TitleFactory(name="Step Up: All In", slug="step-up-all-in")


@pytest.fixture
def member(client):
    user = UserFactory(username="moosefan")
    client.force_login(user)
    return user


def edit_url(title):
    return reverse("reviews:edit", kwargs={"slug": title.slug})


# --- Writing a review ------------------------------------------------------------------


def test_a_member_posts_a_review_and_sees_it_with_the_new_average(client, member, title):
    review(title=title, rating=4)
    response = client.post(
        edit_url(title),
        {"rating": 9, "headline": "Vegas!", "body": "The finale.\nThat toss-and-catch."},
    )
    assert response.status_code == 302
    assert response["Location"] == "/titles/step-up-all-in/#your-review"
    page = client.get(title.get_absolute_url())
    html = page.content.decode()
    assert "Vegas!" in element_text(html, "own-review")
    assert "The finale.<br>That toss-and-catch." in html
    assert (
        '<span class="display-6 fw-semibold" id="rating-average">3.3</span>' in html
    )  # (4 + 9) / 2 / 2 = 3.25
    assert element_text(html, "rating-count") == "2 ratings"
    assert_valid_accessible_page(html)


def test_a_rating_alone_is_a_review(client, member, title):
    assert client.post(edit_url(title), {"rating": 6}).status_code == 302
    saved = Review.objects.get(author=member)
    assert (saved.rating, saved.body) == (6, "")
    title.refresh_from_db()
    assert (title.rating_count, title.text_review_count) == (1, 0)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, "Choose a rating from half a star to five stars."),
        ({"rating": 0, "body": "x"}, "Choose a rating from half a star to five stars."),
        ({"rating": 11}, "Choose a rating from half a star to five stars."),
        ({"rating": "five"}, "Choose a rating from half a star to five stars."),
        ({"body": "Text without a rating"}, "Choose a rating from half a star to five stars."),
        ({"rating": 5, "body": "x" * 10_001}, "the limit is 10000"),
        ({"rating": 5, "headline": "Only a headline"}, "Write a few words under your headline"),
    ],
)
def test_bad_review_input_gets_a_clear_message_and_stores_nothing(
    client, member, title, data, message
):
    response = client.post(edit_url(title), data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Review.objects.exists()
    title.refresh_from_db()
    assert title.rating_count == 0


def test_asking_to_review_again_opens_the_existing_review_for_editing(client, member, title):
    review(title=title, author=member, rating=3, body="First take")
    response = client.get(edit_url(title))
    html = response.content.decode()
    assert "Edit your review of Step Up: All In" in html
    assert "First take" in html
    assert 'value="3" class="star-radio" id="id_rating_2" required checked' in html
    client.post(edit_url(title), {"rating": 8, "body": "Second take"})
    assert Review.objects.filter(author=member).count() == 1
    assert Review.objects.get(author=member).body == "Second take"


def test_a_review_page_for_a_missing_title_is_a_404(client, member):
    assert client.get(reverse("reviews:edit", kwargs={"slug": "nope"})).status_code == 404
    assert (
        client.post(reverse("reviews:edit", kwargs={"slug": "nope"}), {"rating": 5}).status_code
        == 404
    )


def test_signing_in_is_needed_to_review_and_returns_to_the_page(client, title):
    response = client.get(edit_url(title))
    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next=/titles/{title.slug}/review/"
    client.post(edit_url(title), {"rating": 5})
    assert not Review.objects.exists()


def test_a_member_deletes_only_their_own_review(client, member, title):
    mine = review(title=title, author=member, rating=5)
    review(title=title, rating=9)
    delete_url = reverse("reviews:delete", kwargs={"slug": title.slug})
    assert client.get(delete_url).status_code == 200
    assert client.post(delete_url).status_code == 302
    assert not Review.objects.filter(pk=mine.pk).exists()
    assert Review.objects.count() == 1
    # Nothing of theirs left to delete: someone else's review is out of reach.
    assert client.post(delete_url).status_code == 404
    assert Review.objects.count() == 1


def test_a_post_without_a_csrf_token_is_refused(member, title):
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(member)
    assert strict.post(edit_url(title), {"rating": 5}).status_code == 403
    assert not Review.objects.exists()


# --- On the title page ------------------------------------------------------------------


def test_reviews_sort_by_helpful_newest_highest_and_lowest(client, title):
    low = review(title=title, rating=2, body="low")
    high = review(title=title, rating=10, body="high")
    middle = review(title=title, rating=6, body="middle")
    for _ in range(2):
        services.helpful_vote_toggle(review=low, voter=UserFactory())
    services.helpful_vote_toggle(review=middle, voter=UserFactory())

    def order(sort):
        response = client.get(title.get_absolute_url(), {"sort": sort})
        return ReviewList(response).review_ids

    assert order("helpful") == [low.pk, middle.pk, high.pk]
    assert order("newest") == [middle.pk, high.pk, low.pk]
    assert order("highest") == [high.pk, middle.pk, low.pk]
    assert order("lowest") == [low.pk, middle.pk, high.pk]
    assert order("<script>") == order("helpful")


def test_reviews_come_twenty_a_page_with_only_written_reviews_listed(client, title):
    for _ in range(25):
        review(title=title, body="words")
    for _ in range(3):
        review(title=title)  # ratings alone are counted but not listed
    first = client.get(title.get_absolute_url())
    assert len(ReviewList(first)) == 20
    second = client.get(title.get_absolute_url() + ReviewList(first).links["next"])
    assert len(ReviewList(second)) == 5
    html = first.content.decode()
    assert element_text(html, "rating-count") == "28 ratings"
    assert "25 reviews" in element_text(html, "reviews")
    assert "Page 1 of 2" in html and "Page 2 of 2" in second.content.decode()
    for junk in ("999", "x", "last"):
        assert client.get(title.get_absolute_url(), {"page": junk}).status_code == 200


def test_a_rating_without_text_picked_by_staff_shows_no_empty_card(client, title):
    picked = review(title=title, rating=9)
    moderation.review_feature(review=picked, moderator=UserFactory(is_staff=True))
    picked.refresh_from_db()
    assert picked.is_featured
    for url in (title.get_absolute_url(), reverse("films:home")):
        html = client.get(url).content.decode()
        assert not elements_with_class(html, "review-card"), url
        assert "Staff pick" not in page_text(html), url
    # The rating itself still counts.
    assert element_text(client.get(title.get_absolute_url()), "rating-count") == "1 rating"


def test_a_members_own_rating_without_text_offers_no_comments(client, member, title):
    review(title=title, author=member, rating=7)
    own = element_text(client.get(title.get_absolute_url()), "own-review")
    assert "Edit" in own and "Delete" in own
    assert "comment" not in own


def test_spoiler_reviews_are_folded_until_opened(client, title):
    review(title=title, body="Sean and Andie win.", contains_spoilers=True)
    html = client.get(title.get_absolute_url()).content.decode()
    summary = html.index("This review contains spoilers. Show it")
    assert html.index("<details") < summary < html.index("Sean and Andie win.")


def test_histogram_has_a_text_equivalent(client, title):
    review(title=title, rating=10)
    review(title=title, rating=10)
    review(title=title, rating=1)
    html = client.get(title.get_absolute_url()).content.decode()
    assert "Ratings of Step Up: All In by stars" in html
    assert '<th scope="row" class="fw-normal text-nowrap">5 ★</th>' in html
    assert '<td class="text-end">2</td>' in html


def test_user_text_is_plain_text_with_nofollow_ugc_links(client, title):
    review(
        title=title,
        headline="<b>bold</b>",
        body='<script>alert("x")</script> see https://example.org/dance',
    )
    html = client.get(title.get_absolute_url()).content.decode()
    assert "<script>alert" not in html and "&lt;script&gt;" in html
    assert "&lt;b&gt;bold&lt;/b&gt;" in html
    assert '<a href="https://example.org/dance" rel="nofollow ugc">' in html


def test_the_signed_in_members_own_review_comes_first_with_edit_and_delete(client, member, title):
    review(title=title, body="someone else", rating=10)
    review(title=title, author=member, body="mine", rating=3)
    html = client.get(title.get_absolute_url()).content.decode()
    own_card = html[html.index('id="own-review"') :]
    own_card = own_card[: own_card.index("</article>")]
    assert ">mine</div>" in own_card
    assert f'href="{edit_url(title)}">Edit</a>' in own_card
    assert "Delete</a>" in own_card
    # In the page's body: the head's JSON-LD names the top reviews too.
    assert html.index('id="own-review"') < html.index("someone else", html.index("<main"))


def test_home_and_title_list_show_each_titles_average_and_count(client, title):
    review(title=title, rating=8)
    review(title=title, rating=6)
    for url in (reverse("films:home"), reverse("films:title_list")):
        html = client.get(url).content.decode()
        assert '<span class="fw-semibold">3.5</span>' in html
        assert "2 ratings" in html
        assert 'aria-label="3.5 out of 5 stars"' in html


# The title page must not grow with its reviews nor with how deep the reader pages: the
# aggregates are stored, one keyset query fetches the page of reviews (authors joined),
# and one the reader's votes on it. Caching is off here: these are the misses.
@pytest.mark.parametrize("number_of_reviews", [5, pytest.param(500, marks=pytest.mark.slow)])
def test_title_page_query_count_is_the_same_at_5_and_500_reviews_and_on_any_page(
    client, title, django_assert_num_queries, number_of_reviews, no_page_cache
):
    # A routine with a crew and a choreographer, and a cast, so every catalog query runs.
    RoutineFactory(title=title, crews=[CrewFactory()], choreographers=[PersonFactory()])
    CastCreditFactory(title=title)
    authors = UserFactory.create_batch(number_of_reviews)
    for author in authors:
        review(title=title, author=author, body="Some words", rating=1 + author.pk % 10)
    deepest = page_url(title, sort="newest", page=max(1, number_of_reviews // 20))
    for sort in REVIEW_SORT_KEYS:
        # title + 6 catalog prefetches + who returns from earlier titles + the count of its
        # listed reviews by language (the language switch, issue 16; cached with the
        # title's other parts) + the page of reviews + the top reviews of its JSON-LD
        # (films.structured_data) + the title's stored months of ratings (its chart, issue 17)
        with django_assert_num_queries(12):
            assert client.get(title.get_absolute_url(), {"sort": sort}).status_code == 200
    with django_assert_num_queries(12):
        assert client.get(deepest).status_code == 200
    client.force_login(authors[0])
    # + session (none when sessions are cached in Redis), user, the member's own review,
    # their helpful votes on the page
    session_reads = 0 if settings.SESSION_ENGINE.endswith("cached_db") else 1
    for url in (title.get_absolute_url() + "?sort=newest", deepest):
        # (the counts by language and the months of ratings included, as above)
        with django_assert_num_queries(15 + session_reads):
            assert client.get(url).status_code == 200


# --- Helpful votes ----------------------------------------------------------------------


def test_helpful_vote_works_as_a_plain_form_post(client, member, title):
    target = review(title=title, body="Great")
    url = reverse("reviews:helpful", kwargs={"pk": target.pk})
    response = client.post(url, {"next": f"{title.get_absolute_url()}#review-{target.pk}"})
    assert response.status_code == 302
    assert response["Location"] == f"{title.get_absolute_url()}#review-{target.pk}"
    target.refresh_from_db()
    assert target.helpful_count == 1
    html = client.get(title.get_absolute_url()).content.decode()
    assert "1 person found this helpful" in element_text(html, f"review-{target.pk}")
    assert f'aria-pressed="true" data-review="{target.pk}"' in html


def test_helpful_vote_answers_json_for_the_page_script(client, member, title):
    target = review(title=title, body="Great")
    url = reverse("reviews:helpful", kwargs={"pk": target.pk})
    response = client.post(url, headers={"Accept": "application/json"})
    assert response.json() == {
        "voted": True,
        "helpful_count": 1,
        "helpful_count_text": "1 person found this helpful",
    }
    response = client.post(url, headers={"Accept": "application/json"})
    assert response.json()["voted"] is False


def test_voting_on_your_own_review_is_refused(client, member, title):
    own = review(title=title, author=member, body="Mine")
    assert client.post(reverse("reviews:helpful", kwargs={"pk": own.pk})).status_code == 403
    assert not HelpfulVote.objects.exists()


def test_votes_need_sign_in_post_and_an_existing_review(client, title):
    target = review(title=title, body="Great")
    url = reverse("reviews:helpful", kwargs={"pk": target.pk})
    anonymous = client.post(url)
    assert anonymous.status_code == 302
    assert anonymous["Location"] == f"/accounts/login/?next={url}"
    client.force_login(UserFactory())
    # A GET (where sign-in returns an expired session's vote) changes nothing: back to the review.
    assert client.get(url)["Location"] == target.get_absolute_url()
    assert not HelpfulVote.objects.exists()
    assert client.post(reverse("reviews:helpful", kwargs={"pk": 999999})).status_code == 404
    assert (
        client.post(url, {"next": "https://evil.example/"})["Location"] == target.get_absolute_url()
    )


# --- Comments ---------------------------------------------------------------------------


def test_members_comment_and_the_reviewer_answers_in_one_thread(client, member, title):
    target = review(title=title, body="Great")
    url = reverse("reviews:comment_create", kwargs={"pk": target.pk})
    assert client.post(url, {"body": "Agreed!"}).status_code == 302
    reviewer = Client()
    reviewer.force_login(target.author)
    reviewer.post(url, {"body": "Thanks!"})
    page = client.get(target.get_absolute_url())
    html = page.content.decode()
    assert html.index("Agreed!") < html.index("Thanks!")
    assert element_text(html, "comments-heading") == "2 comments"
    answer = Comment.objects.get(author=target.author)
    assert "reviewer" in element_text(html, f"comment-{answer.pk}")
    assert_valid_accessible_page(html)
    title_html = client.get(title.get_absolute_url()).content.decode()
    assert "2 comments" in element_text(title_html, f"review-{target.pk}")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("", "This field is required."),
        ("   ", "This field is required."),
        ("x" * 2001, "the limit is 2000"),
    ],
)
def test_bad_comments_get_a_clear_message(client, member, title, body, message):
    target = review(title=title, body="Great")
    response = client.post(
        reverse("reviews:comment_create", kwargs={"pk": target.pk}), {"body": body}
    )
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Comment.objects.exists()


def test_only_the_author_edits_or_deletes_a_comment(client, member, title):
    target = review(title=title, body="Great")
    theirs = services.comment_create(review=target, author=UserFactory(), body="Theirs")
    mine = services.comment_create(review=target, author=member, body="Mine")
    for name in ("comment_edit", "comment_delete"):
        assert client.get(reverse(f"reviews:{name}", kwargs={"pk": theirs.pk})).status_code == 403
        assert (
            client.post(
                reverse(f"reviews:{name}", kwargs={"pk": theirs.pk}), {"body": "x"}
            ).status_code
            == 403
        )
    theirs.refresh_from_db()
    assert theirs.body == "Theirs"
    client.post(reverse("reviews:comment_edit", kwargs={"pk": mine.pk}), {"body": "Mine, edited"})
    mine.refresh_from_db()
    assert mine.body == "Mine, edited"
    client.post(reverse("reviews:comment_delete", kwargs={"pk": mine.pk}))
    assert not Comment.objects.filter(pk=mine.pk).exists()
    target.refresh_from_db()
    assert target.comment_count == 1


# --- Reports ----------------------------------------------------------------------------


def test_a_member_reports_a_review_and_a_comment_once_each(client, member, title):
    target = review(title=title, body="Spam spam")
    comment = services.comment_create(review=target, author=UserFactory(), body="Buy now")
    url = reverse("reviews:report", kwargs={"pk": target.pk})
    assert client.get(url).status_code == 200
    response = client.post(
        url, {"reason": "spoilers", "note": "Gives away the ending"}, follow=True
    )
    assert "the moderators will look at your report" in response.content.decode()
    response = client.post(url, {"reason": "spam"}, follow=True)
    assert "You have already reported this" in response.content.decode()
    client.post(reverse("reviews:comment_report", kwargs={"pk": comment.pk}), {"reason": "spam"})
    assert Report.objects.count() == 2
    assert Report.objects.get(review=target).note == "Gives away the ending"


def report_state(page, element_id):
    """What the card or comment shows its reader about reporting it."""
    [shown] = [node for node in element(page, element_id).iter() if node.get("data-report")]
    return shown.tag, text_of(shown)


def test_a_member_who_reported_a_review_or_comment_sees_it_marked_reported(client, member, title):
    target = review(title=title, body="Spam spam")
    untouched = review(title=title, body="A fair review")
    comment = services.comment_create(review=target, author=UserFactory(), body="Buy now")
    client.post(reverse("reviews:report", kwargs={"pk": target.pk}), {"reason": "spam"})
    client.post(reverse("reviews:comment_report", kwargs={"pk": comment.pk}), {"reason": "spam"})
    client.get(title.get_absolute_url())  # the page with the "thank you" message
    # Twice: rendered for the member, then from the copy shared by every member.
    for _ in range(2):
        page = client.get(title.get_absolute_url())
        assert report_state(page, f"review-{target.pk}") == ("span", "Reported")
        assert report_state(page, f"review-{untouched.pk}") == ("a", "Report")
    page = client.get(target.get_absolute_url())
    assert report_state(page, f"review-{target.pk}") == ("span", "Reported")
    assert report_state(page, f"comment-{comment.pk}") == ("span", "Reported")
    page = client.get(target.author.get_absolute_url())
    assert report_state(page, f"review-{target.pk}") == ("span", "Reported")
    someone_else = Client()
    someone_else.force_login(UserFactory())
    for _ in range(2):
        page = someone_else.get(title.get_absolute_url())
        assert report_state(page, f"review-{target.pk}") == ("a", "Report")
    page = someone_else.get(target.get_absolute_url())
    assert report_state(page, f"comment-{comment.pk}") == ("a", "Report")


def test_a_report_needs_a_known_reason(client, member, title):
    target = review(title=title, body="x")
    response = client.post(reverse("reviews:report", kwargs={"pk": target.pk}), {"reason": "bored"})
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()
    assert not Report.objects.exists()


# --- Feeds ------------------------------------------------------------------------------


def test_rss_and_atom_feeds_of_the_latest_reviews_site_wide_and_per_title(client, title):
    other = TitleFactory(name="Step Up 3D")
    review(title=title, headline="About All In", body="<i>escaped</i>")
    review(title=other, body="About 3D")
    rss = client.get(reverse("reviews:rss"))
    assert rss["Content-Type"].startswith("application/rss+xml")
    assert "About All In" in rss.content.decode() and "About 3D" in rss.content.decode()
    # Escaped twice over: once as text inside the description's HTML, once by XML, so a
    # feed reader shows "<i>escaped" as typed and never renders it; line breaks are <br>.
    assert "&amp;lt;i&amp;gt;escaped" in rss.content.decode()
    assert "<i>" not in rss.content.decode()
    assert "About All In&lt;br&gt;&lt;br&gt;&amp;lt;i&amp;gt;" in rss.content.decode()
    atom = client.get(reverse("reviews:title_atom", kwargs={"slug": title.slug}))
    assert atom["Content-Type"].startswith("application/atom+xml")
    assert "About All In" in atom.content.decode() and "About 3D" not in atom.content.decode()
    assert client.get(reverse("reviews:title_rss", kwargs={"slug": "nope"})).status_code == 404
    html = client.get(title.get_absolute_url()).content.decode()
    assert f'href="{reverse("reviews:title_rss", kwargs={"slug": title.slug})}"' in html
    assert 'type="application/atom+xml"' in html


def test_spoiler_reviews_are_not_given_away_in_feeds(client, title):
    review(
        title=title,
        author=UserFactory(username="spoiler-fan"),
        headline="The final battle",
        body="Sean and Andie win.",
        contains_spoilers=True,
    )
    for url in (
        reverse("reviews:rss"),
        reverse("reviews:atom"),
        reverse("reviews:title_rss", kwargs={"slug": title.slug}),
        reverse("reviews:title_atom", kwargs={"slug": title.slug}),
    ):
        feed = client.get(url).content.decode()
        # The review is in the feed, with a warning in place of its headline and text.
        assert "spoiler-fan" in feed, url
        assert "Contains spoilers: open the review to read it." in feed, url
        assert "Sean and Andie win." not in feed and "The final battle" not in feed, url


AGGREGATES = [
    "rating_count",
    "rating_sum",
    "text_review_count",
    *(f"ratings_{half_stars}" for half_stars in range(1, 11)),
]


def test_title_aggregates_are_not_editable_by_forms(title):
    review(title=title, rating=8, body="Words")
    stored = Title.objects.values(*AGGREGATES, "featured_review").get(pk=title.pk)
    assert stored["rating_count"] == 1
    # A form made from the model with every field leaves them out...
    assert not {*AGGREGATES, "featured_review"} & set(
        modelform_factory(Title, fields="__all__").base_fields
    )
    # ...so the admin, which saves through such a form, ignores values posted for them.
    staff = Client()
    staff.force_login(StaffUserFactory())
    data = {
        "name_en": "Renamed in the admin",
        "slug": title.slug,
        "kind": title.kind,
        "franchise_position": title.franchise_position,
        "release_year": title.release_year,
    }
    for prefix in ("credits", "routines", "trivia"):
        data |= {f"{prefix}-TOTAL_FORMS": 0, f"{prefix}-INITIAL_FORMS": 0}
    data |= {field: 999 for field in AGGREGATES}
    response = staff.post(reverse("admin:films_title_change", args=[title.pk]), data)
    assert response.status_code == 302
    assert Title.objects.get(pk=title.pk).name == "Renamed in the admin"
    assert Title.objects.values(*AGGREGATES, "featured_review").get(pk=title.pk) == stored


def test_the_own_review_is_shown_once_at_the_top_not_again_in_the_list(client, member, title):
    review(title=title, body="someone else", rating=10)
    mine = review(title=title, author=member, body="mine", rating=3)
    response = client.get(title.get_absolute_url())
    listed = ReviewList(response).review_ids
    assert listed and mine.pk not in listed
    html = response.content.decode()
    assert html.count(">mine</div>") == 1
    # In the page's body: the head's JSON-LD names the top reviews too.
    assert html.index('id="own-review"') < html.index("someone else", html.index("<main"))
    # Where it would have been in the list, a pointer to it.
    assert f'<p class="review-card-pointer" id="review-{mine.pk}"><a href="#your-review">' in html


def test_profile_shows_which_reviews_the_reader_marked_helpful(client, member):
    author = UserFactory(username="krumpqueen")
    voted, not_voted = review(author=author, body="one"), review(author=author, body="two")
    services.helpful_vote_toggle(review=voted, voter=member)
    html = client.get(author.get_absolute_url()).content.decode()
    voted_card = html[html.index(f'id="review-{voted.pk}"') :]
    assert 'aria-pressed="true"' in voted_card[: voted_card.index("</article>")]
    other_card = html[html.index(f'id="review-{not_voted.pk}"') :]
    assert 'aria-pressed="false"' in other_card[: other_card.index("</article>")]


def test_the_vote_endpoint_answers_the_script_in_json_even_when_refused(client, title):
    target = review(title=title, body="Great")
    url = reverse("reviews:helpful", kwargs={"pk": target.pk})
    accept = {"Accept": "application/json, text/plain, */*"}
    signed_out = client.post(url, headers=accept)
    assert signed_out.status_code == 401 and "Sign in" in signed_out.json()["error"]
    client.force_login(target.author)
    own = client.post(url, headers=accept)
    assert own.status_code == 403 and "own review" in own.json()["error"]
    client.force_login(UserFactory())
    assert client.post(url, headers=accept).json()["voted"] is True


def test_voting_or_commenting_on_a_review_deleted_meanwhile_is_a_404_not_a_500(
    client, member, title
):
    target = review(title=title, body="Soon gone")
    stale = Review.objects.get(pk=target.pk)
    services.review_delete(review=target)
    with pytest.raises(Review.DoesNotExist):
        services.helpful_vote_toggle(review=stale, voter=member)
    with pytest.raises(Review.DoesNotExist):
        services.comment_create(review=stale, author=member, body="Too late")
    assert client.post(reverse("reviews:helpful", kwargs={"pk": target.pk})).status_code == 404
    assert not HelpfulVote.objects.exists() and not Comment.objects.exists()


def test_nobody_reports_their_own_review(client, member, title):
    own = review(title=title, author=member, body="Mine")
    response = client.post(reverse("reviews:report", kwargs={"pk": own.pk}), {"reason": "spam"})
    assert response.status_code == 403
    assert not Report.objects.exists()


def test_a_line_break_counts_as_one_character_against_the_limit(client, member, title):
    body = ("x" * 99 + "\r\n") * 100  # 10,000 characters once each CRLF is one newline
    assert client.post(edit_url(title), {"rating": 5, "body": body}).status_code == 302
    assert len(Review.objects.get().body) == 9_999  # the trailing newline is trimmed


def test_an_expired_session_while_commenting_returns_to_the_review_not_an_error(client, title):
    target = review(title=title, body="Great")
    url = reverse("reviews:comment_create", kwargs={"pk": target.pk})
    to_login = client.post(url, {"body": "Lost?"})
    assert to_login["Location"] == f"/accounts/login/?next={url}"
    client.force_login(UserFactory())
    assert client.get(url)["Location"] == f"{target.get_absolute_url()}#comments"


def test_other_peoples_comments_answer_a_styled_403_with_the_reason(client, member, title):
    target = review(title=title, body="Great")
    theirs = services.comment_create(review=target, author=UserFactory(), body="Theirs")
    response = client.get(reverse("reviews:comment_edit", kwargs={"pk": theirs.pk}))
    assert response.status_code == 403
    html = response.content.decode()
    assert "You can only change your own comments." in html
    assert 'role="search"' in html  # the site's own page, with its header


def test_report_form_has_no_blank_reason_and_quotes_the_item(client, member, title):
    target = review(title=title, body="Spoiler-filled words")
    html = client.get(reverse("reviews:report", kwargs={"pk": target.pk})).content.decode()
    assert "---------" not in html
    assert "Spoiler-filled words" in html
    response = client.post(reverse("reviews:report", kwargs={"pk": target.pk}), {})
    assert "Choose what is wrong." in response.content.decode()


# --- Text with nothing visible ------------------------------------------------------------

# Text that draws nothing: each kind a member could paste to post something that looks
# empty (the validator's own tests, tests/reviews/test_validators.py, go through more).
INVISIBLE_TEXTS = {
    "zero-width space": "\u200b\u200b\u200b",
    "zero-width non-joiner and joiner": "\u200c\u200d",
    "word joiner": "\u2060",
    "byte order mark": "\ufeff",
    "soft hyphen": "\u00ad\u00ad",
    "hangul filler": "\u3164",
    "braille blank": "\u2800\u2800",
    "combining marks alone": "\u0301\u0308\u20dd",
    "bidi controls": "\u202e\u2066\u2069\u200f",
    "spaces of every kind around a zero-width space": "\u3000\u00a0\u2003\u200b\t\u2028\u3000",
}


@pytest.mark.parametrize("text", INVISIBLE_TEXTS.values(), ids=INVISIBLE_TEXTS.keys())
@pytest.mark.parametrize(
    ("field", "message"),
    [
        ("headline", "The headline must contain visible text"),
        ("body", "Your review must contain visible text"),
    ],
)
def test_a_review_made_only_of_invisible_characters_is_refused(
    client, member, title, text, field, message
):
    data = {"rating": 6, "headline": "Vegas!", "body": "The finale.", field: text}
    response = client.post(edit_url(title), data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Review.objects.exists()


@pytest.mark.parametrize("text", INVISIBLE_TEXTS.values(), ids=INVISIBLE_TEXTS.keys())
def test_a_comment_made_only_of_invisible_characters_is_refused_posted_or_edited(
    client, member, title, text
):
    target = review(title=title, body="Great")
    response = client.post(
        reverse("reviews:comment_create", kwargs={"pk": target.pk}), {"body": text}
    )
    assert response.status_code == 400
    assert "Your comment must contain visible text" in response.content.decode()
    assert not Comment.objects.exists()
    mine = services.comment_create(review=target, author=member, body="Mine")
    response = client.post(reverse("reviews:comment_edit", kwargs={"pk": mine.pk}), {"body": text})
    assert response.status_code == 400
    assert "Your comment must contain visible text" in response.content.decode()
    mine.refresh_from_db()
    assert mine.body == "Mine"


@pytest.mark.parametrize(
    "text",
    [
        "¡Qué película! Bailé toda la noche.",
        "素晴らしいダンスシーン",
        "🔥🔥",
        "👍🏽",
        "❤️",
        "e\u0301",  # é written as e and a combining accent
        "좋아요 ㅋㅋ",
        "\u200b.\u200b",  # one full stop among zero-width spaces still shows
    ],
)
def test_text_in_any_script_or_emoji_is_accepted(client, member, title, text):
    response = client.post(edit_url(title), {"rating": 8, "headline": text, "body": text})
    assert response.status_code == 302
    saved = Review.objects.get(author=member)
    assert (saved.headline, saved.body) == (text, text)
    response = client.post(
        reverse("reviews:comment_create", kwargs={"pk": review(title=title).pk}), {"body": text}
    )
    assert response.status_code == 302
    assert Comment.objects.get().body == text


@pytest.mark.parametrize("body", ["", "   \n  "])
def test_a_rating_with_an_empty_body_is_still_a_rating_alone(client, member, title, body):
    assert client.post(edit_url(title), {"rating": 6, "body": body}).status_code == 302
    assert Review.objects.get(author=member).body == ""
