"""The query plans of the title page's queries, on the bench database, as Markdown.

Usage: DATABASE_URL=... python -m tools.explain_queries [--title-slug step-up-all-in]
PostgreSQL: EXPLAIN (ANALYZE, BUFFERS), so the plans show the indexes really used and the
time they took; SQLite: EXPLAIN QUERY PLAN. Pages 1 and 5,000 for each sort order, built
exactly as reviews.pagination builds them; the same in one language (--language, the list a
reader of that language sees first), and the count of listed reviews by language.
"""

import argparse
import os


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--title-slug", default="step-up-all-in")
    parser.add_argument("--deep-page", type=int, default=5000)
    parser.add_argument("--language", default="es")
    parser.add_argument("--language-deep-page", type=int, default=500)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "stepup_site.settings")
    os.environ.setdefault("DEBUG", "1")
    import django

    django.setup()
    from django.db import connection

    from accounts.models import User
    from films.models import Title
    from reviews.models import REVIEW_SORT_KEYS, Review
    from reviews.pagination import REVIEWS_PER_PAGE, RowValueCompare
    from reviews.selectors import (
        listed_language_counts,
        listed_language_counts_sql,
        reader_marks_sql,
    )

    title = Title.objects.get(slug=args.title_slug)
    count_page_queries(title, args.deep_page)
    postgres = connection.vendor == "postgresql"
    listed = Review.objects.published().filter(title=title).with_text().for_listing()

    def explain(label, queryset):
        plan = queryset.explain(analyze=True, buffers=True) if postgres else queryset.explain()
        print(f"### {label}\n\n```\n{plan}\n```\n")

    def explain_sql(label, sql, params):
        with connection.cursor() as cursor:
            prefix = "EXPLAIN (ANALYZE, BUFFERS) " if postgres else "EXPLAIN QUERY PLAN "
            cursor.execute(prefix + sql, params)
            plan = "\n".join(" ".join(str(cell) for cell in row) for row in cursor.fetchall())
        print(f"### {label}\n\n```\n{plan}\n```\n")

    print(f"## Query plans on {connection.vendor} ({title.text_review_count:,} listed reviews)\n")
    for sort, (columns, direction) in REVIEW_SORT_KEYS.items():
        descending = direction == "descending"
        order = [f"-{c}" if descending else c for c in columns]
        explain(f"`{sort}`, page 1", listed.order_by(*order)[: REVIEWS_PER_PAGE + 1])
        before_deep = (
            Review.objects.published()
            .filter(title=title)
            .with_text()
            .order_by(*order)
            .values_list(*columns)[(args.deep_page - 1) * REVIEWS_PER_PAGE - 1]
        )
        deep = listed.filter(
            RowValueCompare(columns, list(before_deep), "<" if descending else ">", Review)
        ).order_by(*order)[: REVIEWS_PER_PAGE + 1]
        explain(f"`{sort}`, page {args.deep_page:,} (keyset)", deep)
    counts = listed_language_counts(title)
    print(f"## In one language ({args.language}: {counts.get(args.language, 0):,} listed)\n")
    sql, params = listed_language_counts_sql(title_pk=title.pk)
    explain_sql(
        "The count of listed reviews by language (reviews.selectors.listed_language_counts)",
        sql,
        params,
    )
    in_language = listed.filter(language=args.language)
    for sort, (columns, direction) in REVIEW_SORT_KEYS.items():
        descending = direction == "descending"
        order = [f"-{c}" if descending else c for c in columns]
        first = in_language.order_by(*order)[: REVIEWS_PER_PAGE + 1]
        explain(f"`{sort}` in {args.language}, page 1", first)
        before_deep = in_language.order_by(*order).values_list(*columns)[
            (args.language_deep_page - 1) * REVIEWS_PER_PAGE - 1
        ]
        deep = in_language.filter(
            RowValueCompare(columns, list(before_deep), "<" if descending else ">", Review)
        ).order_by(*order)[: REVIEWS_PER_PAGE + 1]
        explain(f"`{sort}` in {args.language}, page {args.language_deep_page:,} (keyset)", deep)
    reader = User.objects.filter(reviews__title=title).first()
    page_ids = list(listed.order_by("-created_at", "-id").values_list("id", flat=True)[:20])
    sql, params = reader_marks_sql(reader_pk=reader.pk, title_pk=title.pk, review_ids=page_ids)
    explain_sql(
        "The reader's marks on the page and own review (reviews.selectors.reader_marks)",
        sql,
        params,
    )


def count_page_queries(title, deep_page):
    """Queries of the All In page at this size, page 1 and the deep page, caching off (the
    cost of a miss) and on (a hit), for a visitor and a member."""
    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from accounts.models import User
    from reviews.pagination import page_url

    settings.ALLOWED_HOSTS = ["testserver"]
    member = User.objects.filter(reviews__title=title).first()
    urls = {"page 1": title.get_absolute_url(), f"page {deep_page:,}": None}
    urls[f"page {deep_page:,}"] = page_url(title, sort="newest", page=deep_page)
    print(f"## Queries per request ({title.text_review_count:,} listed reviews)\n")
    print("| request | caching off (a miss) | caching on (a hit) |\n|---|---:|---:|")
    for reader in ("visitor", "member"):
        for label, url in urls.items():
            counts = []
            for seconds in (0, 600):
                settings.PAGE_CACHE_SECONDS = seconds
                client = Client()
                if reader == "member":
                    client.force_login(member)
                client.get(url)
                with CaptureQueriesContext(connection) as queries:
                    assert client.get(url).status_code == 200
                counts.append(len(queries))
            print(f"| {reader}, {label} | {counts[0]} | {counts[1]} |")
    print()


if __name__ == "__main__":
    main()
