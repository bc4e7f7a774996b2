"""Cache backends: Redis that may go away, and a database cache with an atomic incr."""

import logging
import threading
import time

from django.core.cache.backends.db import DatabaseCache
from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from django.db import router, transaction
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

# After a failure, Redis is not asked again for this long: a page must not pay a
# connection timeout for every cache call while it is down.
RETRY_AFTER_SECONDS = 2.0


class _Outage:
    """This process's view of whether Redis is reachable.

    While Redis was unreachable, writes meant for it were lost: a session ended, a new
    content version. Stale copies of those may still sit in Redis if it was cut off rather
    than restarted. So the first process to reach it again after an outage it noticed
    empties it: everything there is a copy or a counter that can be rebuilt.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self.down_since = None
        self._retry_at = 0.0

    def skip(self):
        return self.down_since is not None and time.monotonic() < self._retry_at

    def failed(self, error):
        with self._lock:
            if self.down_since is None:
                self.down_since = time.monotonic()
                logger.error("Redis is unreachable, serving without the cache: %s", error)
            self._retry_at = time.monotonic() + RETRY_AFTER_SECONDS

    def recovered(self):
        with self._lock:
            was_down, self.down_since = self.down_since is not None, None
        return was_down


# One per Redis server and process, shared by the threads (each has its own client): a
# thread that saw Redis fail stops the others waiting on it, and whichever thread reaches
# it first afterwards empties it.
_outages = {}
_outages_lock = threading.Lock()


def _outage_of(servers):
    with _outages_lock:
        return _outages.setdefault(tuple(servers), _Outage())


class ResilientRedisCacheClient(RedisCacheClient):
    def __init__(self, servers, **options):
        super().__init__(servers, **options)
        self.outage = _outage_of(servers)

    def _call(self, operation, fallback, *args):
        if self.outage.skip():
            return fallback()
        try:
            if self.outage.down_since is not None:
                # First contact since an outage: empty Redis before reading anything from it.
                self._empty_after_outage()
            return operation(*args)
        except RedisError as error:
            self.outage.failed(error)
            return fallback()

    def _empty_after_outage(self):
        super().clear()
        if self.outage.recovered():
            logger.warning("Redis is back; emptied it of what may have gone stale meanwhile.")

    def add(self, key, value, timeout):
        return self._call(super().add, lambda: False, key, value, timeout)

    def get(self, key, default):
        return self._call(super().get, lambda: default, key, default)

    def set(self, key, value, timeout):
        return self._call(super().set, lambda: None, key, value, timeout)

    def touch(self, key, timeout):
        return self._call(super().touch, lambda: False, key, timeout)

    def delete(self, key):
        return self._call(super().delete, lambda: False, key)

    def get_many(self, keys):
        return self._call(super().get_many, dict, keys)

    def has_key(self, key):
        return self._call(super().has_key, lambda: False, key)

    def incr(self, key, delta):
        def unavailable():
            # What Django's caches raise for a missing key: callers treat it as "no count".
            raise ValueError("the cache is unavailable")

        return self._call(super().incr, unavailable, key, delta)

    def set_many(self, data, timeout):
        return self._call(super().set_many, list, data, timeout)

    def delete_many(self, keys):
        return self._call(super().delete_many, lambda: None, keys)

    def clear(self):
        return self._call(super().clear, lambda: False)


class ResilientRedisCache(RedisCache):
    """Django's RedisCache, where Redis being unreachable is a miss, never an error."""

    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = ResilientRedisCacheClient

    @property
    def available(self):
        return self._cache.outage.down_since is None


class SharedDatabaseCache(DatabaseCache):
    """Django's database cache with an atomic incr, for counters several processes share.

    DatabaseCache.incr reads then writes, so two processes can both read 4 and both write 5.
    In one transaction it is atomic: SQLite takes the write lock at BEGIN (IMMEDIATE mode),
    so the two run one after the other.
    """

    def incr(self, key, delta=1, version=None):
        with transaction.atomic(using=router.db_for_write(self.cache_model_class)):
            return super().incr(key, delta, version)
