"""The full-text machinery beside the index rows, for the database in use (search.backends).

PostgreSQL: the unaccent extension; a text search configuration `search_simple`, a copy of
"simple" (no stemming, no stop words: right for English and Spanish alike) whose words go
through unaccent first, so "coreografia" and "coreografía" are one lexeme; the generated
tsvector column `document` with the name weighted above the text; its GIN index.
Generated, so no write can leave it behind its row. (to_tsvector with a named configuration
is immutable, as a generated column needs; unaccent() alone is not, hence the dictionary.)

SQLite: the FTS5 table `search_fts` over the rows (external content: the text is stored
once), with remove_diacritics 2 for the accents, and the triggers that keep it in step.
Note for later migrations of SearchEntry on SQLite: a table rebuilt by Django drops these
triggers; run `rebuild_search_index` and recreate them in that migration.
"""

from django.contrib.postgres.operations import UnaccentExtension
from django.db import migrations

TABLE = "search_searchentry"
COLUMNS = "name, keywords, body, related, other_languages"

POSTGRESQL = [
    "CREATE TEXT SEARCH CONFIGURATION search_simple (COPY = pg_catalog.simple)",
    "ALTER TEXT SEARCH CONFIGURATION search_simple "
    "ALTER MAPPING FOR hword, hword_part, word WITH unaccent, simple",
    f"""ALTER TABLE {TABLE} ADD COLUMN document tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('search_simple'::regconfig, name), 'A')
        || setweight(to_tsvector('search_simple'::regconfig, keywords), 'A')
        || setweight(to_tsvector('search_simple'::regconfig, body), 'B')
        || setweight(to_tsvector('search_simple'::regconfig, related), 'C')
        || setweight(to_tsvector('search_simple'::regconfig, other_languages), 'D')
    ) STORED""",
    f"CREATE INDEX search_entry_document ON {TABLE} USING gin (document)",
]
POSTGRESQL_REVERSE = [
    "DROP INDEX search_entry_document",
    f"ALTER TABLE {TABLE} DROP COLUMN document",
    "DROP TEXT SEARCH CONFIGURATION search_simple",
]

_new = ", ".join(f"new.{c.strip()}" for c in COLUMNS.split(","))
_old = ", ".join(f"old.{c.strip()}" for c in COLUMNS.split(","))
_delete = (
    f"INSERT INTO search_fts(search_fts, rowid, {COLUMNS}) VALUES ('delete', old.id, {_old});"
)
_insert = f"INSERT INTO search_fts(rowid, {COLUMNS}) VALUES (new.id, {_new});"
SQLITE = [
    f"""CREATE VIRTUAL TABLE search_fts USING fts5(
        {COLUMNS}, content='{TABLE}', content_rowid='id',
        tokenize="unicode61 remove_diacritics 2"
    )""",
    f"CREATE TRIGGER search_fts_insert AFTER INSERT ON {TABLE} BEGIN {_insert} END",
    f"CREATE TRIGGER search_fts_delete AFTER DELETE ON {TABLE} BEGIN {_delete} END",
    f"CREATE TRIGGER search_fts_update AFTER UPDATE ON {TABLE} BEGIN {_delete} {_insert} END",
    "INSERT INTO search_fts(search_fts) VALUES ('rebuild')",
]
SQLITE_REVERSE = [
    "DROP TRIGGER search_fts_update",
    "DROP TRIGGER search_fts_delete",
    "DROP TRIGGER search_fts_insert",
    "DROP TABLE search_fts",
]


def _run(statements):
    def run(apps, schema_editor):
        for statement in statements.get(schema_editor.connection.vendor, ()):
            schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [("search", "0001_initial")]

    operations = [
        UnaccentExtension(),  # PostgreSQL only (a no-op elsewhere)
        migrations.RunPython(
            _run({"postgresql": POSTGRESQL, "sqlite": SQLITE}),
            _run({"postgresql": POSTGRESQL_REVERSE, "sqlite": SQLITE_REVERSE}),
        ),
    ]
