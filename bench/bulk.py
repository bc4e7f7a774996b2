"""Writing millions of rows fast: a model's table as the generator fills it, the writer
(COPY on PostgreSQL from a thread of its own, executemany on SQLite), foreign keys checked
once at the end instead of row by row, SQLite tuned for the load, fresh planner statistics."""

import queue
import threading
import time
from contextlib import contextmanager
from datetime import datetime

from django.db import connection

# Three times faster than adding a timedelta to the epoch, for four million values.
# (Deprecated from Python 3.12 on, for its naive result; the project runs on 3.11.)
_utc = datetime.utcfromtimestamp
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"})


class Table:
    """A model's table with the columns written, in order, taken from the model's _meta.

    Fields the generator does not know (one added to the model since) get their default,
    so the loader keeps working, or fails loudly on a NOT NULL field without one.
    """

    def __init__(self, model, names):
        meta = model._meta
        quote = connection.ops.quote_name
        self.name = meta.db_table
        known = [meta.get_field(name) for name in names]
        extra = [field for field in meta.concrete_fields if field.name not in names]
        self.pad = tuple(field.get_default() for field in extra)
        columns = ", ".join(quote(field.column) for field in known + extra)
        self.copy_sql = f"COPY {quote(self.name)} ({columns}) FROM STDIN"
        marks = ", ".join("?" * (len(known) + len(extra)))
        self.insert_sql = f"INSERT INTO {quote(self.name)} ({columns}) VALUES ({marks})"


class Sink:
    """Writes rows of a table: COPY on PostgreSQL, executemany on SQLite.

    On PostgreSQL the server's work (ten indexes to keep on the reviews table) takes about
    as long as generating the rows, so a thread sends each chunk while the next is made.
    The thread gets the chunk as one string of COPY text, formatted here: psycopg then
    holds the GIL only briefly, not once per row. SQLite works inside this process and
    takes the GIL back after every row, so there it writes in this thread, in turn.
    """

    def __init__(self, cursor):
        self.postgres = connection.vendor == "postgresql"
        self.rows = {}
        self.seconds = {}
        self.error = None
        if self.postgres:
            # The raw psycopg cursor under Django's wrapper: COPY is psycopg's own API,
            # and the wrapper checks it is used from the thread that made the connection.
            self.raw = cursor.cursor
            # Two chunks (three tables each) queued at most: memory stays bounded.
            self.jobs = queue.Queue(maxsize=6)
            self.thread = threading.Thread(target=self._work, name="bench-data-copy", daemon=True)
            self.thread.start()
        else:
            self.raw = connection.connection

    def write(self, table, rows):
        if self.error is not None:
            raise self.error
        if not rows:
            return
        if table.pad:
            rows = [row + table.pad for row in rows]
        if self.postgres:
            self.jobs.put((table, len(rows), _copy_text(rows)))
        else:
            started = time.monotonic()
            self.raw.executemany(table.insert_sql, rows)
            self._count(table, len(rows), started)

    def close(self):
        """Wait for every row to be written; raise what the writer ran into, if anything."""
        self.stop()
        if self.error is not None:
            raise self.error

    def stop(self):
        if self.postgres and self.thread.is_alive():
            self.jobs.put(None)
            self.thread.join()

    def _work(self):
        while (job := self.jobs.get()) is not None:
            if self.error is None:  # after a failure, only drain the queue
                table, count, text = job
                started = time.monotonic()
                try:
                    with self.raw.copy(table.copy_sql) as copy:
                        copy.write(text)
                except BaseException as error:  # handed to the main thread, raised there
                    self.error = error
                else:
                    self._count(table, count, started)

    def _count(self, table, count, started):
        self.rows[table.name] = self.rows.get(table.name, 0) + count
        self.seconds[table.name] = self.seconds.get(table.name, 0) + time.monotonic() - started

    def stamp(self, seconds):
        """A moment (seconds since the epoch, UTC) as text the column takes: str() of a
        naive UTC datetime, which is what Django itself stores on SQLite."""
        text = str(_utc(seconds))
        return text + "+00" if self.postgres else text


def _copy_text(rows):
    """Rows in PostgreSQL's COPY text format."""
    return "".join(["\t".join([_copy_value(value) for value in row]) + "\n" for row in rows])


def _copy_value(value):
    if value is None:
        return "\\N"
    if value is True:
        return "t"
    if value is False:
        return "f"
    if type(value) is str:
        if "\\" in value or "\n" in value or "\r" in value or "\t" in value:
            return value.translate(_COPY_ESCAPES)
        return value
    return str(value)


def max_pk(cursor, model):
    quote = connection.ops.quote_name
    cursor.execute(
        f"SELECT COALESCE(MAX({quote(model._meta.pk.column)}), 0) "
        f"FROM {quote(model._meta.db_table)}"
    )
    return cursor.fetchone()[0]


@contextmanager
def foreign_keys_checked_at_the_end(loaded, log):
    """Foreign keys on or to the `loaded` models' tables checked once, at the end of the block,
    rather than row by row.

    Django's foreign keys are checked at commit, one queued check per row written or
    deleted: for a million reviews and their votes, minutes. On PostgreSQL they are
    dropped here and added back at the end, each checked then by one join; use inside the
    load's transaction, so that if anything fails they are back as they were (meanwhile
    the tables are locked against other sessions). On SQLite, where only a connection
    outside a transaction can turn checking off, the caller does that; then the whole
    database is checked here at the end, still inside the transaction.
    """
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            unchecked = not _pragma(cursor, "foreign_keys")
        yield
        if unchecked:
            started = time.monotonic()
            connection.check_constraints()
            log(f"foreign keys checked in {time.monotonic() - started:.1f} s")
        return
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        # ALTER TABLE refuses a table with checks still queued (rows a caller, or a test,
        # wrote in this transaction): run them now, then defer again as Django declares.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        tables = [connection.ops.quote_name(model._meta.db_table) for model in loaded]
        cursor.execute(
            "SELECT conrelid::regclass::text, quote_ident(conname), pg_get_constraintdef(oid) "
            "FROM pg_constraint WHERE contype = 'f' "
            "AND (conrelid = ANY(%s::regclass[]) OR confrelid = ANY(%s::regclass[])) "
            "ORDER BY 1, 2",
            [tables, tables],
        )
        found = cursor.fetchall()
        for table, name, _definition in found:
            cursor.execute(f"ALTER TABLE {table} DROP CONSTRAINT {name}")
    yield
    started = time.monotonic()
    with connection.cursor() as cursor:
        for table, name, definition in found:
            cursor.execute(f"ALTER TABLE {table} ADD CONSTRAINT {name} {definition}")
    log(f"{len(found)} foreign keys added back and checked in {time.monotonic() - started:.1f} s")


def tune_sqlite():
    """Faster bulk writes for the length of the load, on a connection of our own only.

    PRAGMAs cannot change inside a transaction (a test's, a caller's atomic block), and
    the load is one transaction anyway, so losing power mid-load loses only the load.
    Foreign keys are checked once at the end instead of row by row (see
    foreign_keys_checked_at_the_end).
    """
    if connection.vendor != "sqlite" or connection.in_atomic_block:
        return None
    with connection.cursor() as cursor:
        synchronous = _pragma(cursor, "synchronous")
        cache_size = _pragma(cursor, "cache_size")
        cursor.execute("PRAGMA synchronous = OFF")
        cursor.execute("PRAGMA cache_size = -1000000")  # about 1 GB, in KiB
    connection.disable_constraint_checking()
    return synchronous, cache_size


def _pragma(cursor, name):
    """The value of an SQLite setting."""
    cursor.execute(f"PRAGMA {name}")
    return cursor.fetchone()[0]


def untune_sqlite(tuned):
    if tuned is None:
        return
    synchronous, cache_size = tuned
    connection.enable_constraint_checking()
    with connection.cursor() as cursor:
        cursor.execute(f"PRAGMA synchronous = {int(synchronous)}")
        cursor.execute(f"PRAGMA cache_size = {int(cache_size)}")
        # The load went through the write-ahead log: fold it back into the database
        # file and truncate it, rather than leave a log the size of the data behind.
        cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def analyze(tables):
    """Fresh planner statistics, so the first benchmark does not run on empty-table plans.

    Outside a transaction, PostgreSQL also gets a VACUUM: it sets the visibility map
    (index-only scans) and the hint bits a first reader would otherwise write.
    """
    quote = connection.ops.quote_name
    names = ", ".join(quote(table) for table in tables)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            if connection.in_atomic_block:
                cursor.execute(f"ANALYZE {names}")
            else:
                cursor.execute(f"VACUUM (ANALYZE) {names}")
        elif connection.vendor == "sqlite":
            cursor.execute("ANALYZE")
            cursor.execute("PRAGMA optimize")
