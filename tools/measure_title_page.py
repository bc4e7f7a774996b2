"""Query count and server time of a title page with N reviews (default 500).

Usage: python -m tools.measure_title_page [N]
Builds a throwaway SQLite database in a temporary folder (or uses DATABASE_URL), loads
the catalog, writes N reviews of Step Up: All In through the site's own services, then
renders the page through Django's test client: anonymous and signed in, each sort.
"""

import os
import statistics
import sys
import tempfile
import time


def main(number_of_reviews: int) -> None:
    folder = tempfile.mkdtemp()
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{folder}/measure.sqlite3")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "stepup_site.settings")
    # Production settings: DEBUG off (the template engine caches, no query log kept).
    os.environ.setdefault("DEBUG", "0")
    os.environ.setdefault("SECRET_KEY", "measure-only-" + "x" * 50)
    os.environ.setdefault("ALLOWED_HOSTS", "testserver")
    # The test client speaks plain HTTP.
    os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, setup_test_environment

    from accounts.models import User
    from films.models import Title
    from reviews.services import review_submit

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.ALLOWED_HOSTS = ["testserver"]
    setup_test_environment()
    call_command("migrate", verbosity=0)
    call_command("load_catalog", verbosity=0)
    title = Title.objects.get(slug="step-up-all-in")
    for index in range(number_of_reviews):
        author = User.objects.create(username=f"measure{index}", email=f"m{index}@example.org")
        review_submit(
            title=title,
            author=author,
            rating=1 + index % 10,
            headline="A headline" if index % 3 and index % 4 else "",
            body="Some words about the dancing. " * (1 + index % 8) if index % 4 else "",
        )
    member = User.objects.get(username="measure0")

    print(f"{connection.vendor}, {number_of_reviews} reviews of {title.name}")
    for label, client in (("anonymous", Client()), ("signed in", Client())):
        if label == "signed in":
            client.force_login(member)
        for sort in ("helpful", "newest", "highest", "lowest"):
            url = f"{title.get_absolute_url()}?sort={sort}"
            client.get(url)  # warm caches and the template loader
            with CaptureQueriesContext(connection) as queries:
                client.get(url)
            # Read now: each request clears the connection's query log.
            query_count = len(queries)
            timings = []
            for _ in range(50):
                started = time.perf_counter()
                response = client.get(url)
                timings.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200
            timings.sort()
            median, p95 = statistics.median(timings), timings[int(0.95 * len(timings)) - 1]
            print(
                f"  {label:9} sort={sort:8} queries={query_count:2}  "
                f"median={median:6.1f} ms  p95={p95:6.1f} ms"
            )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 500)
