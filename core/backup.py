"""Backup and restore of the whole site: every row of every app and every uploaded file.

A backup is one .tar.gz holding

- ``data.jsonl``: every row, as ``manage.py dumpdata --format jsonl`` writes them (one object
  per line, so neither writing nor reading ever holds the whole table in memory), with the
  rows' own ids. Only references to the rows a backup leaves out (content types and
  permissions, which ``migrate`` makes afresh with ids of its own) are natural keys, as
  ``dumpdata --natural-foreign`` writes them. ``manage.py loaddata`` reads the file too.
- ``media/``: every file under MEDIA_ROOT: uploaded posters and imagekit's resized copies,
  which the site never makes again by itself (the Optimistic cache-file strategy).
- ``manifest.json`` (last): format version, Django version, when, the rows per model, the
  media files and the migrations the database had.

Restoring loads the rows with raw inserts in batches, as ``loaddata`` saves them (no
``save()``, no signal: stored aggregates such as Title.rating_count come back exactly as
dumped, nothing is counted twice, and imagekit makes no copies), all in one transaction
with the checks, then puts the media files in place.
"""

import datetime
import io
import json
import os
import tarfile
import tempfile
import uuid
import zlib
from collections import defaultdict
from contextlib import contextmanager
from pathlib import Path, PurePosixPath

import django
from django.apps import apps
from django.conf import settings
from django.core import serializers
from django.core.management.color import no_style
from django.core.serializers.base import DeserializationError
from django.core.serializers.json import DjangoJSONEncoder
from django.core.serializers.jsonl import Serializer as JSONLinesSerializer
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections, transaction
from django.db.migrations.executor import MigrationExecutor
from django.db.models import Prefetch

from core.caching import content_changed

FORMAT = "stepup-backup"
FORMAT_VERSION = 1
MANIFEST_NAME = "manifest.json"
DATA_NAME = "data.jsonl"
MEDIA_DIR = "media"

# What a backup leaves out. Everything else, in every installed app, is in it: the
# members, the catalog, reviews, votes, comments, reports, moderation records, the staff
# groups, and the admin's log of catalog edits (admin.LogEntry: an audit trail like the
# moderation records, so it is kept).
# - contenttypes, auth.Permission: made by `migrate` from the code itself, with ids that
#   differ from one database to the next. Rows that refer to them (group and member
#   permissions, admin log entries) do so by natural key: (app label, model), codename.
# - sessions: sign-ins, short-lived, and bearer secrets; a backup file should not let its
#   reader sign in as anyone. Members sign in again after a restore.
# - axes (django-axes, when installed): login throttling, i.e. failed attempts and lockouts
#   per address and username. Short-lived by design (they expire after the cool-off);
#   restoring them would lock people out again on the strength of old traffic.
# - django_tasks_database: the mail queue. Its tasks carry emailed links (password resets,
#   sign-up and address confirmations): bearer secrets again, and a restore must not send
#   old mail a second time.
EXCLUDED_APPS = frozenset({"contenttypes", "sessions", "axes", "django_tasks_database"})
# - core.ContentVersion: the page caches' scope versions, which only say whether a cached
#   page is current; a restore makes every page stale anyway.
EXCLUDED_MODELS = frozenset({"auth.permission", "core.contentversion"})
# Rows `migrate` makes in an empty database (the staff groups of reviews/0003_roles). A
# freshly migrated database holds them: they do not make it "not empty", and a restore
# replaces them with the backup's.
MADE_BY_MIGRATIONS = frozenset({"auth.group", "auth.group_permissions"})

BATCH_SIZE = 1000
CHUNK_SIZE = 2000
COMPRESS_LEVEL = 6


class BackupError(Exception):
    """A backup or restore that cannot be done; the message says why, for the operator."""


# --- Which rows --------------------------------------------------------------------------


def _left_out(model):
    return model._meta.app_label in EXCLUDED_APPS or model._meta.label_lower in EXCLUDED_MODELS


def backed_up_models():
    """The models whose rows a backup holds, in INSTALLED_APPS order."""
    return [
        model
        for model in apps.get_models()
        if model._meta.managed and not model._meta.proxy and not _left_out(model)
    ]


def _tables(models):
    """The models and the many-to-many tables they own (User.groups, Routine.crews, ...)."""
    tables = []
    for model in models:
        tables.append(model)
        for field in model._meta.local_many_to_many:
            through = field.remote_field.through
            if through._meta.auto_created:
                tables.append(through)
    return tables


class _Encoder(DjangoJSONEncoder):
    """Django's encoder, but times keep their microseconds (it cuts them to milliseconds:
    a restored review's created_at would not be the one dumped)."""

    def default(self, o):
        if isinstance(o, (datetime.datetime, datetime.time)):
            return o.isoformat()
        return super().default(o)


class _Serializer(JSONLinesSerializer):
    """dumpdata's JSON Lines, with natural keys only where the target row is left out.

    The rows of the backup keep their ids, so a reference among them stays an id (looking
    a natural key up costs a query per reference when loading); a reference to a content
    type or a permission must be a natural key, since their ids are the target database's.
    """

    def handle_fk_field(self, obj, field):
        self.use_natural_foreign_keys = _left_out(field.remote_field.model)
        super().handle_fk_field(obj, field)

    def handle_m2m_field(self, obj, field):
        # Always prefetched by _rows (Django's own method builds a queryset per row anyway).
        if field.remote_field.through._meta.auto_created:
            related = obj._prefetched_objects_cache[field.name]
            if _left_out(field.remote_field.model):
                values = [target.natural_key() for target in related]
            else:
                values = [self._value_from_field(target, target._meta.pk) for target in related]
            self._current[field.name] = values

    def end_object(self, obj):
        # One write of a line encoded by the C encoder: json.dump's many small writes of
        # pieces encoded in Python take most of the time of a large dump.
        self.stream.write(json.dumps(self.get_dump_object(obj), **self.json_kwargs) + "\n")
        self._current = None


def _rows(model, alias):
    """Every row, by id, in chunks, with what serializing it needs fetched alongside."""
    queryset = model._base_manager.using(alias).order_by("pk")
    natural = [
        field.name
        for field in model._meta.concrete_fields
        if field.is_relation and _left_out(field.remote_field.model)
    ]
    if natural:
        queryset = queryset.select_related(*natural)
    prefetches = []
    for field in model._meta.local_many_to_many:
        if not field.remote_field.through._meta.auto_created:
            continue  # an explicit through model is a model of its own, dumped as such
        target = field.remote_field.model
        related = target._base_manager.using(alias)
        related = related.select_related() if _left_out(target) else related.only("pk")
        prefetches.append(Prefetch(field.name, queryset=related))
    if prefetches:
        queryset = queryset.prefetch_related(*prefetches)
    return queryset.iterator(chunk_size=CHUNK_SIZE)


def _dump_rows(stream, alias):
    """Write every row to the text stream; return the number of rows per model label."""
    serializer = _Serializer()
    counts = {}
    for model in backed_up_models():
        written = 0

        def counted(rows):
            nonlocal written
            for row in rows:
                written += 1
                yield row

        serializer.serialize(counted(_rows(model, alias)), stream=stream, cls=_Encoder)
        counts[model._meta.label] = written
        for table in _tables([model])[1:]:
            counts[table._meta.label] = table._base_manager.using(alias).count()
    return counts


@contextmanager
def _snapshot(alias):
    """One consistent view of the database for the whole dump, while the site goes on.

    Otherwise a review posted between reading the titles and reading the reviews would be
    in the backup while its title's stored counts are not. Inside a transaction already
    (tests), that transaction is the snapshot.
    """
    connection = connections[alias]
    if connection.in_atomic_block:
        yield
    elif connection.vendor == "postgresql":
        with transaction.atomic(using=alias):
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            yield
    elif connection.vendor == "sqlite":
        # A plain (deferred) read transaction: in WAL mode it reads one snapshot and lets
        # writers write. transaction.atomic() would begin IMMEDIATE, as the settings ask,
        # and hold the write lock (so stop every writer) for as long as the dump takes.
        connection.ensure_connection()
        with connection.cursor() as cursor:
            cursor.execute("BEGIN DEFERRED")
        try:
            yield
        finally:
            with connection.cursor() as cursor:
                cursor.execute("COMMIT")
    else:
        with transaction.atomic(using=alias):
            yield


def _applied_migrations(alias):
    """{app label: [migration names]} of what the database has applied."""
    applied = defaultdict(list)
    for app, name in sorted(MigrationExecutor(connections[alias]).loader.applied_migrations):
        applied[app].append(name)
    return dict(applied)


# --- Backup ------------------------------------------------------------------------------


def default_backup_path(*, now=None):
    now = now or datetime.datetime.now(datetime.UTC)
    return Path(settings.BASE_DIR) / "backups" / f"stepup-{now:%Y%m%dT%H%M%SZ}.tar.gz"


def _media_files(media_root):
    """(path in the archive, path on disk) of every regular file under MEDIA_ROOT."""
    if not media_root.is_dir():
        return
    for directory, subdirectories, names in os.walk(media_root):
        subdirectories.sort()
        for name in sorted(names):
            path = Path(directory, name)
            if path.is_file() and not path.is_symlink():
                yield PurePosixPath(path.relative_to(media_root).as_posix()), path


def _add_stream(archive, name, fileobj, size, mtime):
    info = tarfile.TarInfo(name)
    info.size = size
    info.mtime = mtime
    info.mode = 0o644
    archive.addfile(info, fileobj)


def create_backup(*, path=None, database=DEFAULT_DB_ALIAS):
    """Write the backup to `path` (a new file, or one replaced whole); return its manifest.

    Written to a temporary file beside it, then renamed: a backup that fails half-way never
    leaves a file that looks complete. Rows and files are streamed, never held in memory.
    The file holds password hashes and email addresses, so only its owner may read it.
    """
    path = Path(path) if path else default_backup_path()
    media_root = Path(settings.MEDIA_ROOT)
    if path.absolute().resolve().is_relative_to(media_root.absolute().resolve()):
        # Anything there can be served to the public, and the backup holds password hashes.
        raise BackupError(f"Refusing to write a backup inside MEDIA_ROOT ({media_root}).")
    path.parent.mkdir(parents=True, exist_ok=True)
    created = datetime.datetime.now(datetime.UTC)

    descriptor, partial = tempfile.mkstemp(
        dir=path.parent, prefix=f".{path.name}.", suffix=".partial"
    )
    try:
        with os.fdopen(descriptor, "wb") as output:
            with tarfile.open(fileobj=output, mode="w:gz", compresslevel=COMPRESS_LEVEL) as archive:
                # The rows first (the database's view of things), then the files: a poster
                # uploaded meanwhile is at worst an extra file, never a missing one.
                with tempfile.TemporaryFile(dir=path.parent) as data:
                    text = io.TextIOWrapper(data, encoding="utf-8", newline="\n")
                    with _snapshot(database):
                        counts = _dump_rows(text, database)
                        migrations = _applied_migrations(database)
                    text.flush()
                    size = data.tell()
                    data.seek(0)
                    _add_stream(archive, DATA_NAME, data, size, created.timestamp())
                    text.detach()

                media_files = media_bytes = 0
                for name, source in _media_files(media_root):
                    with open(source, "rb") as file:
                        status = os.fstat(file.fileno())
                        _add_stream(
                            archive, f"{MEDIA_DIR}/{name}", file, status.st_size, status.st_mtime
                        )
                    media_files += 1
                    media_bytes += status.st_size

                manifest = {
                    "format": FORMAT,
                    "format_version": FORMAT_VERSION,
                    "created": created.isoformat(),
                    "django_version": django.get_version(),
                    "database_vendor": connections[database].vendor,
                    "counts": counts,
                    "media": {"files": media_files, "bytes": media_bytes},
                    "migrations": migrations,
                }
                encoded = json.dumps(manifest, indent=2, sort_keys=True).encode()
                _add_stream(
                    archive, MANIFEST_NAME, io.BytesIO(encoded), len(encoded), created.timestamp()
                )
            output.flush()
            os.fsync(output.fileno())
        os.replace(partial, path)
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise
    _fsync_directory(path.parent)
    manifest["path"] = str(path)
    return manifest


def _fsync_directory(directory):
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


# --- Restore -----------------------------------------------------------------------------


def _checked_members(archive):
    """The archive's members by normalised name, once each is known to be harmless.

    Nothing is written anywhere before every member has passed: an absolute path, a `..`,
    a link or a device anywhere refuses the whole archive.
    """
    members = {}
    for member in archive.getmembers():
        problem = None
        path = PurePosixPath(member.name)
        if member.name.startswith("/") or path.is_absolute() or "\\" in member.name:
            problem = "is an absolute path"
        elif ".." in path.parts or not path.parts:
            problem = "points outside the backup"
        elif not (member.isfile() or member.isdir()):
            problem = "is a link or a special file"
        elif path.parts[0] != MEDIA_DIR and str(path) not in (MANIFEST_NAME, DATA_NAME):
            problem = "is not part of a Step Up backup"
        elif str(path) in members:
            problem = "appears twice"
        if problem:
            raise BackupError(f"Refusing the archive: its member {member.name!r} {problem}.")
        members[str(path)] = member
    for required in (MANIFEST_NAME, DATA_NAME):
        if required not in members or not members[required].isfile():
            raise BackupError(f"This is not a Step Up backup: it has no {required}.")
    return members


def _read_manifest(archive, member):
    try:
        manifest = json.load(archive.extractfile(member))
    except ValueError as error:
        raise BackupError(f"The backup's {MANIFEST_NAME} is unreadable: {error}") from error
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError("This is not a Step Up backup (its manifest says otherwise).")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise BackupError(
            f"This backup is in format version {manifest.get('format_version')}; this "
            f"version of the site reads version {FORMAT_VERSION} only."
        )
    if not all(isinstance(manifest.get(key), dict) for key in ("counts", "media", "migrations")):
        raise BackupError(f"The backup's {MANIFEST_NAME} is incomplete.")
    return manifest


def _check_schema(manifest, alias):
    """The database must be migrated, and know every migration the backup's database had."""
    executor = MigrationExecutor(connections[alias])
    if executor.migration_plan(executor.loader.graph.leaf_nodes()):
        raise BackupError(
            "The database is not fully migrated: run `manage.py migrate` first, then restore."
        )
    backed_up_apps = {label.split(".")[0].lower() for label in manifest["counts"]}
    known = set(executor.loader.graph.nodes)
    unknown = [
        f"{app}.{name}"
        for app, names in sorted(manifest["migrations"].items())
        if app in backed_up_apps
        for name in names
        if (app, name) not in known
    ]
    if unknown:
        raise BackupError(
            "This backup was made by a newer version of the site (its database had "
            f"migrations this code does not know: {', '.join(unknown[:5])}). Deploy that "
            "version, migrate, then restore."
        )


def _rows_present(tables, alias):
    return {
        table._meta.label: count
        for table in tables
        if table._meta.label_lower not in MADE_BY_MIGRATIONS
        and (count := table._base_manager.using(alias).count())
    }


def _delete_rows(tables, alias):
    """Empty the tables. Foreign keys are checked at commit (Django makes them deferrable),
    so the order does not matter; DELETE rather than TRUNCATE so it works inside any
    transaction on PostgreSQL too."""
    connection = connections[alias]
    with connection.cursor() as cursor:
        for table in reversed(tables):
            cursor.execute(f"DELETE FROM {connection.ops.quote_name(table._meta.db_table)}")


def _insert(model, objects, alias):
    """Insert the rows as they are, ids and timestamps included (auto_now is not applied),
    as Model.save_base(raw=True) does for loaddata, a batch per query."""
    fields = [field for field in model._meta.local_concrete_fields if not field.generated]
    connection = connections[alias]
    size = max(1, min(len(objects), connection.ops.bulk_batch_size(fields, objects)))
    size = min(size, max(1, 65_000 // len(fields)))  # PostgreSQL's parameter limit
    for start in range(0, len(objects), size):
        model._base_manager.using(alias)._insert(
            objects[start : start + size], fields=fields, raw=True, using=alias
        )


def _load_rows(stream, alias):
    """Insert every row of data.jsonl: consecutive rows of a model in batches, then the
    rows of the many-to-many tables."""
    batch, links = [], defaultdict(list)

    def flush():
        if batch:
            _insert(type(batch[0]), batch, alias)
            batch.clear()

    objects = serializers.deserialize("jsonl", stream, using=alias)
    for deserialized in objects:
        row = deserialized.object
        if batch and (type(batch[0]) is not type(row) or len(batch) >= BATCH_SIZE):
            flush()
        batch.append(row)
        for name, targets in (deserialized.m2m_data or {}).items():
            field = row._meta.get_field(name)
            through = field.remote_field.through
            source, target = field.m2m_field_name(), field.m2m_reverse_field_name()
            links[through].extend(
                through(**{f"{source}_id": row.pk, f"{target}_id": value}) for value in targets
            )
    flush()
    for through, rows in links.items():
        through._base_manager.using(alias).bulk_create(rows, batch_size=BATCH_SIZE)


def _reset_sequences(tables, alias):
    """PostgreSQL hands out ids from sequences that inserts with explicit ids do not move:
    set each past the largest id restored, so the next review gets a fresh id. (SQLite
    takes the next id from the largest in the table by itself.)"""
    connection = connections[alias]
    statements = connection.ops.sequence_reset_sql(no_style(), tables)
    if statements:
        with connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)


def _media_target(media_root, name):
    relative = PurePosixPath(name).relative_to(MEDIA_DIR)
    target = media_root.joinpath(*relative.parts)
    # Belt and braces: _checked_members already refused anything with `..` or a leading /.
    if not os.path.normpath(target).startswith(os.path.normpath(media_root) + os.sep):
        raise BackupError(f"Refusing the archive: {name!r} points outside MEDIA_ROOT.")
    return target


def _write_media_file(archive, member, target):
    """Write the file beside its final place, then rename it there: no half-written poster."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.{uuid.uuid4().hex}.restoring")
    # 0o666 less the umask, as Django's FileSystemStorage creates an upload.
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(descriptor, "wb") as output:
            source = archive.extractfile(member)
            while chunk := source.read(1024 * 1024):
                output.write(chunk)
        if settings.FILE_UPLOAD_PERMISSIONS is not None:
            os.chmod(partial, settings.FILE_UPLOAD_PERMISSIONS)
        os.utime(partial, (member.mtime, member.mtime))
        os.replace(partial, target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


# What reading a damaged or truncated archive raises (BadGzipFile is an OSError).
_READ_ERRORS = (tarfile.TarError, EOFError, zlib.error, OSError)


def restore_backup(*, path, replace=False, database=DEFAULT_DB_ALIAS):
    """Restore the backup at `path` into this migrated database and MEDIA_ROOT.

    Refuses a database that already holds data, unless `replace`: then every backed-up
    table is emptied first, and once the restore has committed, the files under MEDIA_ROOT
    that are not in the backup are deleted too. The rows go in in one transaction, with the
    checks; the media files are written before it commits, so that a failure there leaves
    the database as it was. Returns the backup's manifest, with `media_removed`.
    """
    path = Path(path)
    if not path.is_file():
        raise BackupError(f"No backup at {path}.")
    media_root = Path(settings.MEDIA_ROOT)
    try:
        with tarfile.open(path, mode="r:gz") as archive:
            try:
                members = _checked_members(archive)
                manifest = _read_manifest(archive, members[MANIFEST_NAME])
            except _READ_ERRORS as error:
                raise BackupError(f"{path} is not a readable backup: {error}") from error
            _check_schema(manifest, database)
            restored_media = _restore_contents(
                archive, members, manifest, media_root=media_root, replace=replace, alias=database
            )
    except (DeserializationError, DatabaseError) as error:
        raise BackupError(f"The backup's rows could not be restored: {error}") from error
    except _READ_ERRORS as error:
        raise BackupError(f"Restoring {path} failed: {error}") from error
    removed = _remove_other_media(media_root, restored_media) if replace else 0
    return {**manifest, "media_removed": removed}


def _restore_contents(archive, members, manifest, *, media_root, replace, alias):
    """The rows, the checks and the media files, in one transaction; return the files."""
    media_members = [
        member
        for name, member in members.items()
        if name.startswith(f"{MEDIA_DIR}/") and member.isfile()
    ]
    if len(media_members) != manifest["media"].get("files"):
        raise BackupError(
            f"The backup is damaged: it holds {len(media_members)} media files, its manifest "
            f"says {manifest['media'].get('files')}."
        )
    tables = _tables(backed_up_models())
    restored_media = set()
    with transaction.atomic(using=alias):
        present = _rows_present(tables, alias)
        if present and not replace:
            found = ", ".join(f"{label}: {count}" for label, count in present.items())
            raise BackupError(
                f"The database already holds data ({found}). Restore into a freshly migrated "
                "database, or pass --replace to delete that data (and the media files not in "
                "the backup) first."
            )
        _delete_rows(tables, alias)
        _load_rows(
            io.TextIOWrapper(archive.extractfile(members[DATA_NAME]), encoding="utf-8"), alias
        )
        connections[alias].check_constraints(table_names=[table._meta.db_table for table in tables])
        _reset_sequences(tables, alias)
        _check_counts(manifest, tables, alias)
        for member in media_members:
            target = _media_target(media_root, member.name)
            _write_media_file(archive, member, target)
            restored_media.add(target)
        # Every cached page is stale now (the rows went in without the signals that say so).
        content_changed()
    return restored_media


def _check_counts(manifest, tables, alias):
    """Every table holds as many rows as the backup's database did: nothing was lost."""
    by_label = {table._meta.label: table for table in tables}
    for label, expected in manifest["counts"].items():
        if label not in by_label:
            raise BackupError(f"The backup holds rows of {label}, which this site does not have.")
        found = by_label[label]._base_manager.using(alias).count()
        if found != expected:
            raise BackupError(
                f"The backup is damaged: {label} has {found} rows after restoring, its "
                f"manifest says {expected}."
            )


def _remove_other_media(media_root, keep):
    """After a --replace: the files of the replaced data go with it."""
    removed = 0
    for _, path in _media_files(media_root):
        if path not in keep:
            path.unlink()
            removed += 1
    return removed
