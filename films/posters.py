"""Posters drawn with Pillow for titles that have no uploaded poster yet."""

import colorsys
import io
import textwrap

from PIL import Image, ImageDraw, ImageFont

POSTER_SIZE = (480, 720)


# Consecutive titles step round the colour wheel by the golden angle, so neighbours in
# the franchise never get two near-identical colours.
GOLDEN_FRACTION = 0.381966


def poster_colour(index: int) -> tuple[int, int, int]:
    """A deep, saturated colour, always the same for the same franchise position."""
    hue = (0.9 + index * GOLDEN_FRACTION) % 1
    red, green, blue = colorsys.hls_to_rgb(hue, 0.28, 0.65)
    return round(red * 255), round(green * 255), round(blue * 255)


def poster_lines(name: str) -> tuple[str, str]:
    """The small label and the large headline a poster shows for a title's name."""
    franchise = "Step Up"
    rest = name[len(franchise) :] if name.startswith(franchise) else ""
    if not rest.strip(" :") or rest[0] not in " :":
        return "", name.upper()
    if rest.startswith(":"):
        return franchise.upper(), rest.strip(" :").upper()
    # "Step Up 2: The Streets" keeps its number in the label.
    before, _, after = rest.partition(":")
    if after:
        return f"{franchise} {before.strip()}".upper(), after.strip().upper()
    return franchise.upper(), rest.strip().upper()


def render_generated_poster(*, name: str, year: int | None, colour_index: int) -> bytes:
    """A PNG of the title and year on the title's own colour."""
    width, height = POSTER_SIZE
    background = poster_colour(colour_index)
    image = Image.new("RGB", POSTER_SIZE, background)
    draw = ImageDraw.Draw(image)

    # A lighter band along the bottom, like a stage floor, keeps the poster from looking empty.
    floor = tuple(min(255, channel + 40) for channel in background)
    draw.rectangle([(0, height * 0.78), (width, height)], fill=floor)

    title_font = ImageFont.load_default(size=46)
    year_font = ImageFont.load_default(size=34)
    label_font = ImageFont.load_default(size=30)

    # "Step Up: All In" draws as a small "STEP UP" over a large "ALL IN"; a name that
    # does not start with the franchise's name is drawn whole, with no label.
    label, headline = poster_lines(name)
    if label:
        draw.text((width / 2, 70), label, font=label_font, fill=(255, 255, 255), anchor="mm")
    lines = textwrap.wrap(headline, width=12) or [""]
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
