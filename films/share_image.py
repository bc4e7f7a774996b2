"""The image a title's page shows when shared (og:image, twitter:image): 1200×630, drawn
with Pillow from the title's poster (or the generated one), its name and year, and its
average in drawn stars with the number of ratings, in the page's language.

Drawing one takes about a tenth of a second, so each is kept in the cache under a key made
of everything it draws (the title's name, year, kind, poster, rating count and sum, the
language): it is drawn again only when one of them changes, and a new rating makes a new key.
"""

import hashlib
import io
import logging
import math
import textwrap

from django.core.cache import cache
from django.utils import formats, translation
from django.utils.translation import gettext, ngettext
from PIL import Image, ImageDraw, ImageFont, ImageOps

from .posters import poster_colour, render_generated_poster
from .share import SHARE_IMAGE_SIZE

logger = logging.getLogger(__name__)

LAYOUT_VERSION = "1"  # change it when the drawing changes: every kept image is drawn again
CACHE_SECONDS = 30 * 24 * 60 * 60
MARGIN = 40
POSTER_HEIGHT = SHARE_IMAGE_SIZE[1] - 2 * MARGIN
POSTER_WIDTH = POSTER_HEIGHT * 2 // 3
STAR_GOLD = (255, 193, 7)
STAR_EMPTY = (255, 255, 255, 70)

# The fields every drawing reads: the view loads these alone.
DRAWN_FIELDS = (
    "name",
    "slug",
    "kind",
    "release_year",
    "franchise_position",
    "poster",
    "rating_count",
    "rating_sum",
)


def _drawn(title):
    """Everything the image shows of the title, as one string."""
    return "\x1f".join(
        str(part)
        for part in (
            LAYOUT_VERSION,
            title.pk,
            title.name,
            title.kind,
            title.release_year,
            title.franchise_position,
            title.poster.name or "",
            title.rating_count,
            title.rating_sum,
        )
    )


def share_image_version(title):
    """A short fingerprint of what the image draws (the same in every language)."""
    return hashlib.sha256(_drawn(title).encode()).hexdigest()[:12]


def title_share_png(title, *, language):
    """The PNG bytes of the title's share image in `language` and its ETag, from the cache
    while nothing drawn has changed."""
    digest = hashlib.sha256(f"{_drawn(title)}\x1f{language}".encode()).hexdigest()
    key = f"share-image:{digest}"
    png = cache.get(key)
    if png is None:
        with translation.override(language):
            png = render_share_image(title)
        cache.set(key, png, timeout=CACHE_SECONDS)
    return png, f'"{digest[:32]}"'


def rating_caption(title):
    """ "4.2 out of 5 · 1,234 ratings" in the active language ("4,2 de 5 · 1.234
    valoraciones"), or that there is none yet."""
    if not title.rating_count:
        return gettext("No ratings yet")
    average = formats.number_format(title.rating_average, decimal_pos=1, use_l10n=True)
    count = formats.number_format(title.rating_count, use_l10n=True, force_grouping=True)
    ratings = ngettext("%(counter)s rating", "%(counter)s ratings", title.rating_count) % {
        "counter": count
    }
    return f"{average} {gettext('out of 5')} · {ratings}"


def site_share_png(*, language):
    """The site's own card, for the pages without an image of their own, and its ETag."""
    digest = hashlib.sha256(f"site\x1f{LAYOUT_VERSION}\x1f{language}".encode()).hexdigest()
    key = f"share-image:{digest}"
    png = cache.get(key)
    if png is None:
        with translation.override(language):
            png = render_site_image()
        cache.set(key, png, timeout=CACHE_SECONDS)
    return png, f'"{digest[:32]}"'


def render_site_image():
    width, height = SHARE_IMAGE_SIZE
    image = Image.new("RGB", SHARE_IMAGE_SIZE, (24, 24, 28))
    draw = ImageDraw.Draw(image)
    # Six bands in the colours of the franchise's posters, like a stage's lights.
    for index in range(6):
        band = width // 6
        draw.rectangle(
            [(index * band, height - 70), ((index + 1) * band, height)],
            fill=poster_colour(index + 1),
        )
    white = (255, 255, 255)
    draw.text(
        (width / 2, 230),
        gettext("Step Up Community"),
        font=ImageFont.load_default(size=92),
        fill=white,
        stroke_width=2,
        stroke_fill=white,
        anchor="mm",
    )
    font = ImageFont.load_default(size=38)
    tagline = gettext("Every Step Up film and series")
    for index, line in enumerate(_wrapped(tagline, font, width - 4 * MARGIN)[:2]):
        draw.text((width / 2, 340 + index * 50), line, font=font, fill=(220, 220, 220), anchor="mm")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def render_share_image(title):
    width, height = SHARE_IMAGE_SIZE
    colour = poster_colour(title.franchise_position)
    image = Image.new("RGB", SHARE_IMAGE_SIZE, tuple(channel // 3 for channel in colour))
    draw = ImageDraw.Draw(image, "RGBA")
    # A band of the title's own colour behind the poster ties the card to the poster.
    draw.rectangle([(0, 0), (MARGIN + POSTER_WIDTH // 2, height)], fill=colour)
    image.paste(_poster(title), (MARGIN, MARGIN))

    left = MARGIN * 2 + POSTER_WIDTH + 20
    text_width = width - left - MARGIN
    white = (255, 255, 255)
    small = ImageFont.load_default(size=30)
    draw.text((left, MARGIN + 10), gettext("Step Up Community").upper(), font=small, fill=white)

    # The name as large as fits in three lines.
    for size in (72, 64, 56, 48, 40):
        name_font = ImageFont.load_default(size=size)
        lines = _wrapped(title.name, name_font, text_width)
        if len(lines) <= 3:
            break
    lines = lines[:3]
    top = MARGIN + 80
    for line in lines:
        draw.text((left, top), line, font=name_font, fill=white, stroke_width=1, stroke_fill=white)
        top += int(name_font.size * 1.15)

    facts = f"{title.release_year} · {title.get_kind_display()}"
    draw.text((left, top + 16), facts, font=ImageFont.load_default(size=36), fill=(225, 225, 225))

    stars_top = height - MARGIN - 150
    if title.rating_count:
        _stars(image, (left, stars_top), title.rating_average_half_stars, size=64)
    caption_font = ImageFont.load_default(size=36)
    draw.text((left, stars_top + 86), rating_caption(title), font=caption_font, fill=white)

    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def _poster(title):
    """The poster at the card's size: the uploaded one, or the drawn one without it (or
    when its file cannot be read: the card is still worth showing)."""
    if title.poster:
        try:
            with title.poster.open("rb") as file, Image.open(file) as upload:
                upload.draft("RGB", (POSTER_WIDTH * 2, POSTER_HEIGHT * 2))  # JPEG: decode less
                poster = ImageOps.exif_transpose(upload).convert("RGB")
                return ImageOps.fit(poster, (POSTER_WIDTH, POSTER_HEIGHT))
        except (OSError, ValueError, Image.DecompressionBombError):
            logger.warning("The poster of title %s could not be read for its share image", title.pk)
    drawn = render_generated_poster(
        name=title.name, year=title.release_year, colour_index=title.franchise_position
    )
    with Image.open(io.BytesIO(drawn)) as poster:
        return poster.convert("RGB").resize((POSTER_WIDTH, POSTER_HEIGHT), Image.LANCZOS)


def _wrapped(text, font, width):
    """`text` in lines no wider than `width` pixels in `font`."""
    for columns in range(max(len(text), 1), 0, -1):
        lines = textwrap.wrap(text, width=columns) or [""]
        if all(font.getlength(line) <= width for line in lines):
            return lines
    return textwrap.wrap(text, width=1) or [""]


def _star_points(x, y, size):
    """The ten corners of a five-pointed star in a `size` square at (x, y)."""
    centre_x, centre_y = x + size / 2, y + size / 2
    outer, inner = size / 2, size / 2 * 0.45
    return [
        (
            centre_x + (outer if corner % 2 == 0 else inner) * math.sin(corner * math.pi / 5),
            centre_y - (outer if corner % 2 == 0 else inner) * math.cos(corner * math.pi / 5),
        )
        for corner in range(10)
    ]


def _stars(image, origin, half_stars, *, size):
    """Five stars from `origin`, `half_stars` (1 to 10) of their halves filled: 7 draws
    three full stars and a half."""
    x, y = origin
    gap = size // 4
    overlay = Image.new("RGBA", image.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    for star in range(5):
        left = x + star * (size + gap)
        points = _star_points(left, y, size)
        filled = half_stars - star * 2
        draw.polygon(points, fill=STAR_EMPTY)
        if filled >= 2:
            draw.polygon(points, fill=STAR_GOLD)
        elif filled == 1:
            half = Image.new("L", image.size, 0)
            ImageDraw.Draw(half).polygon(points, fill=255)
            ImageDraw.Draw(half).rectangle([(left + size / 2, y), (left + size, y + size)], fill=0)
            overlay.paste(STAR_GOLD, mask=half)
    image.paste(overlay, mask=overlay)
