"""How many templates an uncached title page renders.

Rendering, not SQL, was most of an uncached title page's server time (~1 ms of SQL in
~80 ms on the bench's data): each review card used to include a template for its stars
and reverse five URLs, and each include costs a template render. The card's small parts
are now Python tags (reviews/templatetags/review_cards.py). These tests pin the number of
template renders so that includes cannot creep back into the card or the page one by
one: adding one per card costs twenty renders a page and fails here.
"""

import pytest
from django.urls import reverse

from films.models import Title
from tests.factories import UserFactory, review

pytestmark = pytest.mark.django_db

CARDS_ON_PAGE_ONE = 20


@pytest.fixture
def all_in_with_reviews(catalog, no_page_cache):
    # no_page_cache: every part of the page is rendered, as on a cold cache.
    title = Title.objects.get(slug="step-up-all-in")
    for index in range(CARDS_ON_PAGE_ONE + 5):
        review(
            title=title,
            rating=1 + index % 10,
            headline="A headline" if index % 2 else "",
            body="Some words about the dancing. " * (1 + index % 3),
        )
    return title


def rendered_templates(client, title):
    response = client.get(reverse("films:title_detail", kwargs={"slug": title.slug}))
    assert response.status_code == 200
    return [template.name for template in response.templates]


def test_an_uncached_title_page_renders_each_review_card_as_one_template(
    client, all_in_with_reviews
):
    names = rendered_templates(client, all_in_with_reviews)

    assert names.count("reviews/_review_card.html") == CARDS_ON_PAGE_ONE
    # The page, its base, its catalog parts, the list, pager, breadcrumb, poster, the two
    # charts (distribution and months), the six menu entries, the language switch, the
    # sharing card's tags: 19. No include per card besides the card itself (there were 57
    # renders in all before the stars became a tag).
    assert len(names) - CARDS_ON_PAGE_ONE <= 19, names


def test_a_member_s_uncached_title_page_adds_only_the_report_link_per_card(
    client, all_in_with_reviews
):
    client.force_login(UserFactory())

    names = rendered_templates(client, all_in_with_reviews)

    assert names.count("reviews/_review_card.html") == CARDS_ON_PAGE_ONE
    # A card shared by members keeps both states of its report link (reported or not), for
    # each member's to be chosen when it is served: the template is rendered once per state
    # and language with a slot for the address, not twice per card.
    assert names.count("reviews/_report_link.html") <= 2
    # The rest is mostly the review form: its star input, crispy's templates for its five
    # other fields (headline, text, best routine, spoilers, language) and Django's widget
    # templates, one per option of the best-routine and language choices (kept per title
    # and language while caching is on). The language select added 9 (issue 16), the
    # sharing card's tags 1, and the two report links (rendered once a process) 2; the
    # histogram becoming two charts and the menu's new entry 3 (issue 17).
    assert len(names) - CARDS_ON_PAGE_ONE <= 67, names


# The Python tags must write what the templates and reverse() wrote.


@pytest.mark.parametrize("username", ["fan1", "dance crew", "Zoë", "a+b@c.d", "~x:y"])
def test_card_urls_are_the_ones_reverse_gives(username):
    from types import SimpleNamespace

    from reviews.templatetags.review_cards import ReviewUrls

    author = UserFactory.build(username=username)
    urls = ReviewUrls(SimpleNamespace(pk=4321, author=author))

    assert urls.detail == reverse("reviews:detail", kwargs={"pk": 4321})
    assert urls.helpful == reverse("reviews:helpful", kwargs={"pk": 4321})
    assert urls.report == reverse("reviews:report", kwargs={"pk": 4321})
    assert urls.author == author.get_absolute_url()


@pytest.mark.parametrize(
    "text",
    [
        "Some words about the dancing. <b>Loud</b> & \"quoted\" 'too'.\nSecond line.",
        "See www.example.com or http://x.org/a?b=1&c=2.",
        "Mail me: fan@example.org!",
        "HTTPS://EXAMPLE.NET and example.COM/path",
    ],
)
def test_user_text_is_what_urlize_makes_of_it(text):
    from django.template.defaultfilters import linebreaksbr
    from django.utils.html import urlize
    from django.utils.safestring import mark_safe

    from reviews.templatetags.review_text import user_text

    linked = urlize(text, nofollow=True, autoescape=True).replace(
        'rel="nofollow"', 'rel="nofollow ugc"'
    )
    assert user_text(text) == linebreaksbr(mark_safe(linked), autoescape=False)
