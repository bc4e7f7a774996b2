"""The review feeds stay well-formed XML whatever text they carry."""

import xml.etree.ElementTree as ET

import pytest
from django.urls import reverse

from tests.factories import TitleFactory, UserFactory, review

pytestmark = pytest.mark.django_db

# Characters XML 1.0 cannot hold: the admin's and the site's forms take them (only NUL is
# refused), so an editor or a member can save any of them.
NOT_XML = "\x01\x08\x0b\x0c\x1b\ufffe\uffff"


@pytest.fixture
def title():
    title = TitleFactory(name=f"Step{NOT_XML} Up: Revolution", slug="step-up-revolution")
    review(
        title=title,
        author=UserFactory(username="ricky"),
        headline=f"Flash{NOT_XML} mob",
        body=f"Miami{NOT_XML} moves.",
    )
    return title


def feeds(title):
    return [
        reverse("reviews:rss"),
        reverse("reviews:atom"),
        reverse("reviews:title_rss", kwargs={"slug": title.slug}),
        reverse("reviews:title_atom", kwargs={"slug": title.slug}),
    ]


def all_text(url, client):
    response = client.get(url)
    assert response.status_code == 200, url
    root = ET.fromstring(response.content)  # refuses a feed that is not well-formed
    return " ".join(root.itertext())


def test_every_feed_leaves_out_what_xml_cannot_hold_in_titles_names_and_reviews(client, title):
    for url in feeds(title):
        text = all_text(url, client)
        assert "Step Up: Revolution" in text, url  # the feed's title, and each item's
        assert "Flash mob" in text and "Miami moves." in text, url
        assert not set(NOT_XML) & set(text), url


def test_the_feeds_keep_line_breaks_tabs_and_every_other_character(client, title):
    title.name = "Step Up 2:\tThe Streets — “Baltimore” 💃"
    title.save()
    text = all_text(reverse("reviews:title_rss", kwargs={"slug": title.slug}), client)
    assert "Step Up 2:\tThe Streets — “Baltimore” 💃" in text
