"""What a page says of itself when it is shared or read by a machine: the Open Graph and
Twitter card tags (templates/_share_meta.html) and the meta description, built here once
per page so the three always agree.

Every URL in them is absolute: Facebook, X and search engines resolve nothing against the
page. og:url is the page's canonical address (core.i18n.page_links).
"""

from dataclasses import dataclass

from django.conf import settings
from django.urls import reverse
from django.utils.text import Truncator
from django.utils.translation import get_language, gettext

from core.i18n import page_links

from .templatetags.translated_text import text_and_language

# Facebook's locale names. It knows Latin American Spanish as es_LA (it refuses es_419),
# which is the Spanish the site writes.
OG_LOCALES = {"en": "en_US", "es": "es_LA"}
SHARE_IMAGE_SIZE = (1200, 630)
DESCRIPTION_WORDS = 30


def og_locale(language):
    return OG_LOCALES.get((language or settings.LANGUAGE_CODE).split("-")[0], "en_US")


@dataclass(frozen=True)
class ShareMeta:
    """One page's sharing card: og:*, twitter:* and the meta description."""

    title: str
    description: str
    url: str
    image: str
    image_alt: str
    og_type: str = "website"
    image_width: int = SHARE_IMAGE_SIZE[0]
    image_height: int = SHARE_IMAGE_SIZE[1]
    locale: str = "en_US"
    locale_alternates: tuple = ()

    @property
    def site_name(self):
        return gettext("Step Up Community")


def site_description():
    return gettext(
        "The casts, dance crews, routines and trivia of every Step Up film and the series "
        "Step Up: High Water."
    )


def page_share(request, *, title, description="", og_type="website", image=None, image_alt=""):
    """The card of the page `request` asks for. Without an image of its own, a page shows
    the site's card (films:site_share_image)."""
    locale = og_locale(get_language())
    alternates = tuple(sorted({og_locale(code) for code, _name in settings.LANGUAGES} - {locale}))
    if image is None:
        image = reverse("films:site_share_image")
        image_alt = gettext("Step Up Community: the Step Up films and series")
    return ShareMeta(
        title=title,
        description=description or site_description(),
        # The page's canonical address, as its <link rel=canonical> gives it.
        url=page_links(request)["page_links"]["canonical"],
        image=request.build_absolute_uri(image),
        image_alt=image_alt,
        og_type=og_type,
        locale=locale,
        locale_alternates=alternates,
    )


def shortened(text):
    return Truncator(text).words(DESCRIPTION_WORDS) if text else ""


def start_of(obj, field):
    """The start of `obj`'s catalog text `field`, only in the page's language: a meta
    description cannot carry a lang of its own, so where the text is missing the caller's
    own sentence is used."""
    text, other_language = text_and_language(obj, field)
    return "" if other_language else shortened(text)


# --- The catalog's pages ----------------------------------------------------------------


def title_share(request, title):
    description = start_of(title, "synopsis") or gettext(
        "%(name)s (%(year)s): cast, dance crews, routines and trivia."
    ) % {"name": title.name, "year": title.release_year}
    return page_share(
        request,
        title=f"{title.name} ({title.release_year})",
        description=description,
        # A series is no movie, but Open Graph's other video types are for episodes and
        # clips: video.tv_show is the one for a whole series.
        og_type="video.tv_show" if title.is_series else "video.movie",
        image=title_share_image_url(title),
        image_alt=gettext("Poster of %(name)s") % {"name": title.name},
    )


def title_share_image_url(title):
    """The title's share image, its address changed with what it draws, so the sites
    that keep a copy of a shared card (Facebook for weeks) fetch the new one."""
    from .share_image import share_image_version  # it imports this module

    url = reverse("films:share_image", kwargs={"slug": title.slug})
    return f"{url}?v={share_image_version(title)}"


def person_share(request, person):
    return page_share(
        request,
        title=person.name,
        description=start_of(person, "bio")
        or gettext("%(name)s in the Step Up franchise: roles and credits.") % {"name": person.name},
        og_type="profile",
    )


def character_share(request, character):
    return page_share(
        request,
        title=character.name,
        description=start_of(character, "description")
        or gettext("%(name)s across the Step Up franchise.") % {"name": character.name},
    )


def crew_share(request, crew):
    return page_share(
        request,
        title=crew.name,
        description=start_of(crew, "description")
        or gettext("The dance crew %(name)s in the Step Up franchise: its members in each title.")
        % {"name": crew.name},
    )


def routine_share(request, routine):
    names = {"routine": routine.name, "title": routine.title.name}
    return page_share(
        request,
        title=f"{routine.name} ({routine.title.name})",
        description=start_of(routine, "description")
        or gettext(
            "%(routine)s, a dance routine of %(title)s: who dances it, its rating and the "
            "reviews that name it."
        )
        % names,
    )


# The lists: their page title (as the page's <title> says it) and description.
LIST_PAGES = {
    "films:title_list": (
        lambda: gettext("Titles"),
        lambda: gettext("Every Step Up film and series, by franchise order or by year."),
    ),
    "films:person_list": (
        lambda: gettext("People"),
        lambda: gettext(
            "The actors, dancers, directors, choreographers and writers of the Step Up franchise."
        ),
    ),
    "films:character_list": (
        lambda: gettext("Characters"),
        lambda: gettext(
            "The characters of the Step Up franchise across its titles: who comes back, from "
            "which film, and who plays them in each."
        ),
    ),
    "films:crew_list": (
        lambda: gettext("Dance crews"),
        lambda: gettext("The dance crews of the Step Up franchise and who danced in them."),
    ),
    "films:routine_list": (
        lambda: gettext("Routine leaderboard"),
        lambda: gettext(
            "Every dance routine of the Step Up franchise, ranked by the members' ratings."
        ),
    ),
    "films:search": (
        lambda: gettext("Search"),
        lambda: gettext(
            "Search the Step Up franchise: titles, people, characters, dance crews, routines "
            "and trivia."
        ),
    ),
}


def list_share(request, url_name):
    title, description = LIST_PAGES[url_name]
    return page_share(request, title=title(), description=description())


def home_share(request):
    return page_share(request, title=gettext("Every Step Up film and series"))
