"""What keeps the main pages fast on a phone (Lighthouse's mobile score, docs/lighthouse.md),
pinned without Lighthouse: images that reserve their space and load in the right order,
no script that holds up the first paint, and stylesheets served compressed."""

import io
from html.parser import HTMLParser

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse
from PIL import Image

from films.models import Title
from tests.test_html_validity import main_pages

# The first row of title cards on a phone (2 columns): on screen when the page opens.
FIRST_ROW = 2


class _Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def tags(html, name):
    parser = _Tags()
    parser.feed(html)
    return [attributes for tag, attributes in parser.tags if tag == name]


def page_html(client, path):
    response = client.get(path)
    assert response.status_code == 200, path
    return response.content.decode()


@pytest.fixture
def pages(catalog):
    return [
        (name, page_html(client, path))
        for name, client, path in main_pages()
        if name != "not-found"
    ]


def test_every_image_on_the_main_pages_reserves_its_space(pages):
    # Without width and height the browser knows the box only once the image arrives,
    # and everything under it jumps (layout shift).
    seen = 0
    for name, html in pages:
        for image in tags(html, "img"):
            seen += 1
            assert int(image.get("width", 0)) > 0, f"{name}: no width on {image.get('src')}"
            assert int(image.get("height", 0)) > 0, f"{name}: no height on {image.get('src')}"
    assert seen


def test_no_script_on_the_main_pages_holds_up_the_first_paint(pages):
    # A plain <script src> stops the parser until it is fetched and run; deferred scripts
    # run in order once the page is parsed, which Bootstrap's menu and the site's scripts
    # are content with.
    for name, html in pages:
        scripts = tags(html, "script")
        assert scripts, name
        for script in scripts:
            if script.get("type") == "application/ld+json":
                continue  # data for search engines, never run: no CSP applies to it
            assert script.get("src"), f"{name}: inline script (the CSP forbids it)"
            assert "defer" in script or "async" in script, f"{name}: {script['src']} blocks"


@pytest.mark.parametrize("url_name", ["films:home", "films:title_list"])
def test_title_lists_load_the_first_row_of_posters_at_once_and_the_rest_lazily(
    client, catalog, url_name
):
    posters = [
        image
        for image in tags(page_html(client, reverse(url_name)), "img")
        if "poster" in image.get("class", "")
    ]
    assert len(posters) == Title.objects.count() > FIRST_ROW
    first_row, below = posters[:FIRST_ROW], posters[FIRST_ROW:]
    # The first poster is the page's largest content on a phone (its LCP): a lazy LCP
    # image waits for layout, and a normal-priority one queues behind the scripts.
    assert first_row[0].get("fetchpriority") == "high"
    for image in first_row:
        assert "loading" not in image
    for image in below:
        assert image.get("loading") == "lazy"
        assert "fetchpriority" not in image


def test_the_title_pages_poster_is_fetched_first_and_never_lazily(client, catalog):
    html = page_html(client, Title.objects.get(slug="step-up-all-in").get_absolute_url())
    (poster,) = [image for image in tags(html, "img") if "poster-large" in image.get("class", "")]
    assert "loading" not in poster
    assert poster.get("fetchpriority") == "high"
    assert all(image.get("fetchpriority") != "high" for image in tags(html, "img")[1:])


def test_the_title_page_sends_a_resized_copy_of_an_uploaded_poster_never_the_upload(
    client, catalog
):
    title = Title.objects.get(slug="step-up-all-in")
    upload = io.BytesIO()
    Image.new("RGB", (1200, 1800), (200, 30, 90)).save(upload, format="JPEG")
    title.poster.save("all-in.jpg", ContentFile(upload.getvalue()))  # imagekit makes the copies
    with Image.open(title.poster_large.path) as large:
        assert large.size == (480, 720)  # 2:3, like the box it fills: nothing is cropped twice

    html = page_html(client, title.get_absolute_url())
    (poster,) = [image for image in tags(html, "img") if "poster-large" in image.get("class", "")]
    assert title.poster.url not in html
    assert poster["src"] == title.poster_large.url
    # A phone's column (38% of the screen) takes the list's 240-pixel copy when it is enough.
    assert poster["srcset"] == f"{title.poster_thumbnail.url} 240w, {title.poster_large.url} 480w"
    assert poster["sizes"].endswith(", 38vw")
    assert (int(poster["width"]), int(poster["height"])) == (480, 720)


def test_stylesheets_are_minified_and_served_compressed(client, catalog):
    html = page_html(client, reverse("films:home"))
    stylesheets = [link["href"] for link in tags(html, "link") if link.get("rel") == "stylesheet"]
    assert any("/bootstrap.min." in href for href in stylesheets), stylesheets
    for href in stylesheets:
        # WhiteNoise writes a gzipped copy of each file at collectstatic and serves it to
        # every browser that accepts gzip, with a year's caching (the name holds its hash).
        response = client.get(href, HTTP_ACCEPT_ENCODING="gzip")
        assert response.status_code == 200, href
        assert response["Content-Encoding"] == "gzip", href
        assert "immutable" in response["Cache-Control"], href
