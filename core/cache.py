"""Cache backends: Redis that may go away, and a database cache with an atomic incr."""

import logging
import threading
import time

from django.core.cache.backends.db import DatabaseCache
from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from django.db import connections, router, transaction
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

# After a failure, Redis is not asked again for this long: a page must not pay a
# connection timeout for every cache call while it is down.
RETRY_AFTER_SECONDS = 2.0


class _Outage:
    """This process's view of whether Redis is reachable.

    While Redis is unreachable, writes meant for it are lost: a session ended at sign-out, a
    new scope version. If Redis was cut off rather than restarted it still holds the old
    values, which would come back with it. So the keys of every failed write are kept, and
    the first thread to reach Redis again deletes them before it reads anything: the next
    read of each misses and starts afresh.
    """

    MAX_KEPT_KEYS = 100_000

    def __init__(self):
        self._lock = threading.Lock()
        self.down_since = None
        self._retry_at = 0.0
        self._unsynced = set()
        self._too_many = False

    def skip(self):
        return self.down_since is not None and time.monotonic() < self._retry_at

    def failed(self, error, keys=()):
        with self._lock:
            if self.down_since is None:
                self.down_since = time.monotonic()
                logger.error("Redis is unreachable, serving without the cache: %s", error)
            self._retry_at = time.monotonic() + RETRY_AFTER_SECONDS
        self.lost(keys)

    def lost(self, keys):
        """Writes skipped during the pause: lost too, but no reason to wait longer."""
        with self._lock:
            self._unsynced.update(keys)
            if len(self._unsynced) > self.MAX_KEPT_KEYS:
                self._too_many, self._unsynced = True, set()

    def take_unsynced(self):
        """The keys to delete now, or None when there were too many to keep: empty it all."""
        with self._lock:
            keys, too_many = self._unsynced, self._too_many
            self._unsynced, self._too_many = set(), False
            self.down_since = None
        return None if too_many else keys


# One per Redis server and process, shared by the threads (each has its own client): a
# thread that saw Redis fail stops the others waiting on it, and whichever thread reaches
# it first afterwards puts right what the outage left behind.
_outages = {}
_outages_lock = threading.Lock()


def _outage_of(servers):
    with _outages_lock:
        return _outages.setdefault(tuple(servers), _Outage())


def _glob_escaped(text):
    return "".join(f"\\{char}" if char in "*?[]\\" else char for char in text)


class ResilientRedisCacheClient(RedisCacheClient):
    def __init__(self, servers, *, key_prefix="", **options):
        super().__init__(servers, **options)
        self.outage = _outage_of(servers)
        # Django's keys are "<prefix>:<version>:<key>". The database may be shared with
        # other programs (Redis has 16 and people reuse them): only these keys are the site's.
        self._site_keys = f"{_glob_escaped(key_prefix)}:*"

    def _delete_site_keys(self):
        """Empties the site's part of the database, never what other programs keep there
        (Django's own clear() is FLUSHDB)."""
        client = self.get_client(write=True)
        batch = []
        for key in client.scan_iter(match=self._site_keys, count=1000):
            batch.append(key)
            if len(batch) == 1000:
                client.unlink(*batch)
                batch = []
        if batch:
            client.unlink(*batch)
        return True

    def _call(self, operation, fallback, *args, writes=()):
        if self.outage.skip():
            self.outage.lost(writes)
            return fallback()
        try:
            if self.outage.down_since is not None:
                self._put_right_after_outage()
            return operation(*args)
        except RedisError as error:
            self.outage.failed(error, writes)
            return fallback()

    def _put_right_after_outage(self):
        keys = self.outage.take_unsynced()
        try:
            if keys is None:
                self._delete_site_keys()
            elif keys:
                super().delete_many(list(keys))
        except RedisError:
            self.outage.failed("Redis failed again while catching up", keys or ())
            raise
        logger.warning("Redis is back; dropped %s value(s) the outage left stale.", len(keys or ()))

    def add(self, key, value, timeout):
        return self._call(super().add, lambda: False, key, value, timeout, writes=[key])

    def get(self, key, default):
        return self._call(super().get, lambda: default, key, default)

    def set(self, key, value, timeout):
        return self._call(super().set, lambda: None, key, value, timeout, writes=[key])

    def touch(self, key, timeout):
        return self._call(super().touch, lambda: False, key, timeout, writes=[key])

    def delete(self, key):
        return self._call(super().delete, lambda: False, key, writes=[key])

    def get_many(self, keys):
        return self._call(super().get_many, dict, keys)

    def has_key(self, key):
        return self._call(super().has_key, lambda: False, key)

    def incr(self, key, delta):
        def unavailable():
            # What Django's caches raise for a missing key: callers treat it as "no count".
            raise ValueError("the cache is unavailable")

        return self._call(super().incr, unavailable, key, delta, writes=[key])

    def set_many(self, data, timeout):
        # Django's set_many answers the keys it could not store: all of them.
        return self._call(super().set_many, lambda: list(data), data, timeout, writes=data)

    def delete_many(self, keys):
        return self._call(super().delete_many, lambda: None, keys, writes=keys)

    def clear(self):
        return self._call(self._delete_site_keys, lambda: False)


class ResilientRedisCache(RedisCache):
    """Django's RedisCache, where Redis being unreachable is a miss, never an error, and
    clear() removes the site's keys only."""

    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = ResilientRedisCacheClient
        self._options = {**self._options, "key_prefix": self.key_prefix}


class SharedDatabaseCache(DatabaseCache):
    """Django's database cache with an atomic incr, for counters several processes share.

    DatabaseCache.incr reads then writes, so two processes can both read 4 and both write 5.
    Here it runs in a transaction that holds the row: SQLite takes the write lock at BEGIN
    (IMMEDIATE mode); PostgreSQL locks the row with SELECT ... FOR UPDATE.
    """

    def incr(self, key, delta=1, version=None):
        database = router.db_for_write(self.cache_model_class)
        connection = connections[database]
        with transaction.atomic(using=database):
            if connection.features.has_select_for_update:
                table = connection.ops.quote_name(self._table)
                with connection.cursor() as cursor:
                    cursor.execute(
                        f"SELECT cache_key FROM {table} WHERE cache_key = %s FOR UPDATE",
                        [self.make_and_validate_key(key, version=version)],
                    )
            return super().incr(key, delta, version)
