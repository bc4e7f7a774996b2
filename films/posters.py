"""Posters drawn with Pillow for titles that have no uploaded poster yet."""

import colorsys
import hashlib
import io
import textwrap

from PIL import Image, ImageDraw, ImageFont

POSTER_SIZE = (480, 720)


def poster_colour(seed: str) -> tuple[int, int, int]:
    """A deep, saturated colour that is always the same for the same title."""
    digest = hashlib.sha256(seed.encode()).digest()
    hue = digest[0] / 255
    red, green, blue = colorsys.hls_to_rgb(hue, 0.28, 0.65)
    return round(red * 255), round(green * 255), round(blue * 255)


def render_generated_poster(*, name: str, year: int | None, seed: str) -> bytes:
    """A PNG of the title and year on the title's own colour."""
    width, height = POSTER_SIZE
    background = poster_colour(seed)
    image = Image.new("RGB", POSTER_SIZE, background)
    draw = ImageDraw.Draw(image)

    # A lighter band along the bottom, like a stage floor, keeps the poster from looking empty.
    floor = tuple(min(255, channel + 40) for channel in background)
    draw.rectangle([(0, height * 0.78), (width, height)], fill=floor)

    title_font = ImageFont.load_default(size=46)
    year_font = ImageFont.load_default(size=34)
    label_font = ImageFont.load_default(size=22)

    # Every title starts "Step Up": it becomes the small label and the rest stands large.
    label, _, rest = name.partition(":") if ":" in name else ("Step Up", "", name[len("Step Up") :])
    headline = rest.strip() or name
    draw.text(
        (width / 2, 70), label.strip().upper(), font=label_font, fill=(255, 255, 255), anchor="mm"
    )
    lines = textwrap.wrap(headline.upper(), width=12) or [""]
    line_height = 56
    top = height * 0.42 - (len(lines) - 1) * line_height / 2
    for index, line in enumerate(lines):
        draw.text(
            (width / 2, top + index * line_height),
            line,
            font=title_font,
            fill=(255, 255, 255),
            anchor="mm",
        )
    if year:
        draw.text(
            (width / 2, height * 0.89), str(year), font=year_font, fill=(20, 20, 20), anchor="mm"
        )

    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()
