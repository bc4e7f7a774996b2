"""One interface, two full-text engines: PostgreSQL's full-text search and SQLite's FTS5,
chosen by the database vendor. Both take the same words and give the same hits.

Typed text never reaches either engine's query syntax as it is (FTS5 raises on a stray
quote, `NEAR(` or `-`; tsquery on `&` or `!`): the query is cut into words here (letters and
digits only), and each word is quoted into an expression built here. Every word must match
(AND), in any field; the last one also as a prefix, so "sevan" finds Sevani while typing.
"""

import re
import unicodedata
from dataclasses import dataclass, field

from django.db import connection
from django.utils.html import escape
from django.utils.safestring import mark_safe

from .documents import MARK_END, MARK_START
from .models import SearchEntry

# Enough for any real query, few enough to keep a query of 100 one-letter words cheap.
MAX_TERMS = 8
MAX_TERM_LENGTH = 60

_WORD = re.compile(r"[^\W_]+")


def query_terms(text):
    """The words of a typed query, lower-cased: runs of letters and digits (emoji,
    punctuation, operators and quotes are not words). Accents are kept: the engines fold
    them the same way on both sides."""
    text = unicodedata.normalize("NFC", text or "")
    words = [word.casefold()[:MAX_TERM_LENGTH] for word in _WORD.findall(text)]
    return list(dict.fromkeys(words))[:MAX_TERMS]


def highlighted(text):
    """HTML of engine output: everything escaped, then the engine's marks made <mark>."""
    html = escape(" ".join((text or "").split()))  # line breaks between paragraphs too
    html = re.sub(f"{MARK_START}(.*?){MARK_END}", r"<mark>\1</mark>", html, flags=re.S)
    return mark_safe(html.replace(MARK_START, "").replace(MARK_END, ""))


@dataclass
class Hit:
    kind: str
    object_id: int
    name: str
    name_html: str
    snippet_html: str
    year: int | None
    context: dict = field(default_factory=dict)
    slug: str = ""


class Backend:
    vendor = ""

    def search(self, terms, *, language, limit):
        """(hits, total): the best `limit` entries in `language` matching every term, name
        matches first, then by rank; and how many match in all. One SQL query."""
        if not terms:
            return [], 0
        sql, params = self.sql(terms, language=language, limit=limit)
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        hits = [
            Hit(
                kind=kind,
                object_id=object_id,
                name=name,
                name_html=highlighted(name_marked),
                snippet_html=highlighted(snippet),
                year=year,
                context=_json(context),
                slug=slug,
            )
            for kind, object_id, name, year, context, slug, name_marked, snippet, _total in rows
        ]
        return hits, (rows[0][-1] if rows else 0)

    def sql(self, terms, *, language, limit):
        raise NotImplementedError

    def rebuilt(self, cursor):
        """After the entries were all written again (nothing by default)."""


def _json(value):
    if isinstance(value, str):  # SQLite hands JSON back as text to a raw cursor
        import json

        return json.loads(value)
    return value or {}


ENTRY = SearchEntry._meta.db_table


# Ranking, the same on both engines: first how many of the words are in the name, then
# each word scored by the best field it is in (name 3, the record's own text 2, the names
# linked to it 1), then the engine's own rank. So "moose sevani" puts the character Moose
# (played by Adam Sevani) and the person above a trivia item that mentions both.
FIELD_SCORES = ((3, "name"), (2, "body"), (1, "related"))


class PostgresBackend(Backend):
    vendor = "postgresql"
    config = "search_simple"  # "simple" with unaccent (migration 0002)
    # The weights of migration 0002's document: A name and keywords, B body, C related.
    weights = {"name": "A", "body": "B", "related": "C"}

    @staticmethod
    def lexeme(term, *, last, weight=""):
        """A quoted lexeme (terms are letters and digits only: no quote can close it)."""
        return f"'{term}':{'*' if last else ''}{weight}"

    def tsquery(self, terms, weight=""):
        last = len(terms) - 1
        return " & ".join(
            self.lexeme(term, last=i == last, weight=weight) for i, term in enumerate(terms)
        )

    def sql(self, terms, *, language, limit):
        last = len(terms) - 1
        in_name, scores, params = [], [], []
        for i, term in enumerate(terms):
            in_name.append(f"(e.document @@ to_tsquery('{self.config}', %s))::int")
            params.append(self.lexeme(term, last=i == last, weight="A"))
        for i, term in enumerate(terms):
            cases = []
            for score, column in FIELD_SCORES:
                cases.append(f"WHEN e.document @@ to_tsquery('{self.config}', %s) THEN {score}")
                params.append(self.lexeme(term, last=i == last, weight=self.weights[column]))
            scores.append(f"CASE {' '.join(cases)} ELSE 0 END")
        headline = (
            f"StartSel={MARK_START}, StopSel={MARK_END}, MaxWords=30, MinWords=12, "
            'MaxFragments=2, FragmentDelimiter=" … "'
        )
        whole = f"StartSel={MARK_START}, StopSel={MARK_END}, HighlightAll=true"
        # The headlines are made for the rows kept only (the outer query).
        sql = f"""
            WITH q AS (SELECT to_tsquery('{self.config}', %s) AS query),
            found AS (
                SELECT e.id, e.kind, e.object_id, e.name, e.body, e.year, e.context, e.slug,
                       count(*) OVER () AS total,
                       {" + ".join(in_name)} AS in_name,
                       {" + ".join(scores)} AS score,
                       ts_rank(e.document, q.query) AS rank
                FROM {ENTRY} e, q
                WHERE e.language = %s AND e.document @@ q.query
                ORDER BY in_name DESC, score DESC, rank DESC, e.name, e.id
                LIMIT %s
            )
            SELECT f.kind, f.object_id, f.name, f.year, f.context, f.slug,
                   ts_headline('{self.config}', f.name, q.query, %s),
                   ts_headline('{self.config}', f.body, q.query, %s),
                   f.total
            FROM found f, q
            ORDER BY f.in_name DESC, f.score DESC, f.rank DESC, f.name, f.id
        """
        return sql, [self.tsquery(terms), *params, language, limit, whole, headline]


class SqliteBackend(Backend):
    vendor = "sqlite"
    fts = "search_fts"  # migration 0002
    columns = {"name": "{name keywords}", "body": "{body}", "related": "{related}"}

    @staticmethod
    def phrase(term, *, last):
        """A quoted FTS5 string (terms are letters and digits only: no quote inside)."""
        return f'"{term}"' + ("*" if last else "")

    def match(self, terms):
        last = len(terms) - 1
        return " AND ".join(self.phrase(term, last=i == last) for i, term in enumerate(terms))

    def sql(self, terms, *, language, limit):
        last = len(terms) - 1
        matching = f"id IN (SELECT rowid FROM {self.fts} WHERE {self.fts} MATCH %s)"
        in_name, scores, params = [], [], []
        for i, term in enumerate(terms):
            in_name.append(f"({matching})")  # "+" binds tighter than IN
            params.append(f"{self.columns['name']} : {self.phrase(term, last=i == last)}")
        for i, term in enumerate(terms):
            cases = []
            for score, column in FIELD_SCORES:
                cases.append(f"WHEN {matching} THEN {score}")
                params.append(f"{self.columns[column]} : {self.phrase(term, last=i == last)}")
            scores.append(f"CASE {' '.join(cases)} ELSE 0 END")
        # The engine's functions (highlight, snippet, bm25) only work in the query that
        # matches, and a second MATCH of the table inside it gets muddled with the first:
        # the scores, the count over every match and the order are taken around it.
        # Columns: name, keywords, body, related, other_languages (bm25: lower is better).
        sql = f"""
            SELECT kind, object_id, name, year, context, slug, name_marked, snippet,
                   count(*) OVER ()
            FROM (
                SELECT *, {" + ".join(in_name)} AS in_name, {" + ".join(scores)} AS score
                FROM (
                    SELECT e.id, e.kind, e.object_id, e.name, e.year, e.context, e.slug,
                           highlight({self.fts}, 0, %s, %s) AS name_marked,
                           snippet({self.fts}, 2, %s, %s, '…', 24) AS snippet,
                           bm25({self.fts}, 10.0, 10.0, 2.0, 1.0, 0.5) AS rank
                    FROM {self.fts} JOIN {ENTRY} e ON e.id = {self.fts}.rowid
                    WHERE {self.fts} MATCH %s AND e.language = %s
                )
            )
            ORDER BY in_name DESC, score DESC, rank, name, id
            LIMIT %s
        """
        marks = [MARK_START, MARK_END]
        return sql, [*params, *marks, *marks, self.match(terms), language, limit]

    def rebuilt(self, cursor):
        # The triggers keep the FTS table in step row by row; this also mends any drift
        # (a table rebuilt by a later migration loses its triggers' past work).
        cursor.execute(f"INSERT INTO {self.fts}({self.fts}) VALUES ('rebuild')")


BACKENDS = {backend.vendor: backend for backend in (PostgresBackend(), SqliteBackend())}


def backend():
    """The engine of the database in use."""
    try:
        return BACKENDS[connection.vendor]
    except KeyError:
        raise NotImplementedError(f"no site search for {connection.vendor}") from None
