"""Checks every public page must pass: well-formed HTML and the basics of accessibility."""

import itertools
import re
from html import unescape
from html.parser import HTMLParser

import html5lib


class _PageOutline(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.labels_for: set[str] = set()
        self.title = ""
        self._in_title = False

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        self.tags.append((tag, attributes))
        if tag == "label" and attributes.get("for"):
            self.labels_for.add(attributes["for"])
        self._in_title = tag == "title"

    def handle_endtag(self, tag):
        if tag == "title":
            self._in_title = False

    def handle_data(self, data):
        if self._in_title:
            self.title += data

    def find(self, tag):
        return [attributes for name, attributes in self.tags if name == tag]


def assert_valid_accessible_page(html: str) -> _PageOutline:
    # html5lib's strict mode raises on any HTML parse error (unclosed or stray tags, bad nesting).
    html5lib.HTMLParser(strict=True).parse(html)
    outline = _PageOutline()
    outline.feed(html)

    assert outline.title.strip(), "page has no <title>"
    assert len(outline.find("h1")) == 1, "page must have exactly one <h1>"
    descriptions = [meta for meta in outline.find("meta") if meta.get("name") == "description"]
    assert len(descriptions) == 1 and descriptions[0].get("content", "").strip()
    assert outline.find("html")[0].get("lang")
    for landmark in ("header", "nav", "main", "footer"):
        assert outline.find(landmark), f"page has no <{landmark}> landmark"
    for image in outline.find("img"):
        # alt="" is right for a decorative image; a missing alt attribute never is.
        assert "alt" in image, f"image without an alt attribute: {image.get('src')}"
    levels = [int(tag[1]) for tag, _ in outline.tags if tag in {"h1", "h2", "h3", "h4", "h5", "h6"}]
    for previous, level in itertools.pairwise(levels):
        assert level <= previous + 1, f"heading levels skip from h{previous} to h{level}"
    for field in outline.find("input") + outline.find("select") + outline.find("textarea"):
        if field.get("type") in {"hidden", "submit"}:
            continue
        assert field.get("id") in outline.labels_for or field.get("aria-label"), (
            f"form field without a label: {field}"
        )
    ids = [attributes["id"] for _, attributes in outline.tags if attributes.get("id")]
    assert len(ids) == len(set(ids)), "duplicate id attributes"
    return outline


class ReviewList:
    """What a reader sees of the list: its reviews in order, its number, its links."""

    def __init__(self, response):
        assert response.status_code == 200
        html = response.content.decode()
        listing = html[html.index('id="reviews-heading"') :]
        self.review_ids = [
            int(pk) for pk in re.findall(r'<article [^>]*id="review-(\d+)"', listing)
        ]
        pager = re.search(r"Page (\d+) of (\d+)", listing)  # shown when there are two or more
        self.number, self.num_pages = map(int, pager.groups()) if pager else (1, 1)
        self.links = {
            label.lower(): unescape(href)
            for href, label in re.findall(
                r'<a class="page-link" href="([^"]*)#reviews"[^>]*>(\w+)</a>', listing
            )
        }

    def __len__(self):
        return len(self.review_ids)


# Looking for words in a whole page's source can match inside a random CSRF token, a hashed
# file name or a placeholder digest ("v1" did, about one run in sixty). These read only
# what a reader sees, and only where the test expects it.


def parse(page):
    """A response or an HTML string, parsed the way browsers parse it."""
    html = page if isinstance(page, str) else page.content.decode()
    return html5lib.parse(html, treebuilder="etree", namespaceHTMLElements=False)


def text_of(element) -> str:
    """An element's visible text, whitespace collapsed; never an attribute value."""
    parts = []

    def walk(node):
        if callable(node.tag) or node.tag in {"script", "style", "template"}:
            parts.append(node.tail or "")  # a comment or code: only the text after it
            return
        parts.append(node.text or "")
        for child in node:
            walk(child)
        parts.append(node.tail or "")

    walk(element)
    # The element's own tail is outside it.
    parts[-1] = ""
    return " ".join("".join(parts).split())


def page_text(page) -> str:
    """What a reader sees of a whole page (its <body>)."""
    return text_of(parse(page).find("body"))


def element(page, element_id):
    found = parse(page).find(f".//*[@id='{element_id}']")
    assert found is not None, f"no element with id={element_id!r}"
    return found


def element_text(page, element_id) -> str:
    return text_of(element(page, element_id))


def elements_with_class(page, class_name):
    return [
        node
        for node in parse(page).iter()
        if not callable(node.tag) and class_name in (node.get("class") or "").split()
    ]


def admin_rows(page):
    """The admin change list's rows, each as a list of its cells' text."""
    table = element(page, "result_list")
    return [[text_of(cell) for cell in row] for row in table.find("tbody")]


def section_text(page, heading_id) -> str:
    """The text of the <section> a heading names (aria-labelledby)."""
    found = parse(page).find(f".//section[@aria-labelledby='{heading_id}']")
    assert found is not None, f"no section labelled by {heading_id!r}"
    return text_of(found)
