"""Screenshots of the site's main pages at desktop and phone width, for docs/ and for review.

Usage (the Makefile's `make screenshots` does this): python -m tools.screenshots [OUTPUT_DIR]
[NAME ...]: only the pages named (e.g. `franchise-en franchise-es`), else every page.
Serves the current database (migrated, catalog loaded) on a free local port for the run.
"""

import os
import sys
import threading
from pathlib import Path
from wsgiref.simple_server import WSGIRequestHandler, make_server

PAGES = {
    "home": "/",
    "titles": "/titles/",
    "title": "/titles/step-up-all-in/",
    "person": "/people/adam-sevani/",
    "character": "/characters/moose/",
    "timeline": "/characters/",
    "crew": "/crews/lmntrix/",
    "routines": "/routines/",
    "routine": "/routines/las-vegas-finale/",
    "search": "/search/?q=moose",
    "signup": "/accounts/signup/",
    "profile": "/members/sample-krumpqueen/",
    # The charts, in both languages (their words and number formats differ).
    "franchise-en": "/franchise/",
    "franchise-es": "/es/franchise/",
    # The site in Spanish (issue 16).
    "home-es": "/es/",
    "title-es": "/es/titles/step-up-all-in/",
    "search-es": "/es/search/?q=coreografia",
}


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):
        pass


# Pages as a signed-in member sees them: a sample member (they have no password; the
# screenshots sign in through a session made for them).
MEMBER = "sample-krumpqueen"
MEMBER_PAGES = {
    "title-member": "/titles/step-up-all-in/",
    "routine-member": "/routines/las-vegas-finale/",
    "settings": "/accounts/settings/",
}


def _signed_in_cookie(username, base):
    from django.conf import settings
    from django.test import Client

    from accounts.models import User

    client = Client()
    client.force_login(User.objects.get(username=username))
    return {
        "name": settings.SESSION_COOKIE_NAME,
        "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
        "url": base,
    }


def main(output_dir: Path, only=()) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "stepup_site.settings")
    os.environ.setdefault("DEBUG", "1")
    import django

    django.setup()
    from django.contrib.staticfiles.handlers import StaticFilesHandler
    from django.core.wsgi import get_wsgi_application
    from playwright.sync_api import sync_playwright

    from tools.browser import DESKTOP, PHONE, launch_chromium

    server = make_server(
        "127.0.0.1", 0, StaticFilesHandler(get_wsgi_application()), handler_class=QuietHandler
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    from reviews.models import Review

    commented = Review.objects.filter(comment_count__gt=0).order_by("pk").first()
    pages = dict(PAGES)
    if commented:
        pages["review"] = commented.get_absolute_url()
    output_dir.mkdir(parents=True, exist_ok=True)
    # Made before Playwright's event loop starts: the ORM refuses to run inside one.
    member_cookie = _signed_in_cookie(MEMBER, base)
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        for device, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
            for signed_in, shots in ((False, pages), (True, MEMBER_PAGES)):
                context = browser.new_context(viewport=viewport)
                if signed_in:
                    context.add_cookies([member_cookie])
                page = context.new_page()
                for name, path in shots.items():
                    if only and name not in only:
                        continue
                    page.goto(base + path)
                    target = output_dir / f"{name}-{device}.png"
                    page.screenshot(path=str(target), full_page=True)
                    print(target)
                context.close()
        browser.close()
    server.shutdown()


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("docs/screenshots"), sys.argv[2:])
