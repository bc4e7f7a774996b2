"""The settings module reads the environment and refuses an unsafe production start."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

PROJECT = Path(__file__).resolve().parent.parent
# Each of these starts Python, and Django with it, in a process of its own.
slow = pytest.mark.slow
GOOD_KEY = "a-real-production-secret-key-with-plenty-of-entropy-0123456789"

PRINT_SETTINGS = """
import json, django
django.setup()
from django.conf import settings as s
print(json.dumps({
    "debug": s.DEBUG,
    "database": {k: s.DATABASES["default"][k] for k in ("ENGINE", "NAME", "OPTIONS")},
    "cache": s.CACHES["default"]["BACKEND"],
    "cache_location": s.CACHES["default"].get("LOCATION"),
    "email_backend": s.EMAIL_BACKEND,
    "email_host": s.EMAIL_HOST,
    "media_root": str(s.MEDIA_ROOT),
    "static_storage": s.STORAGES["staticfiles"]["BACKEND"],
    "page_cache_seconds": s.PAGE_CACHE_SECONDS,
    "content_version_cache": (
        s.CACHES[s.CONTENT_VERSION_CACHE]["BACKEND"] if s.CONTENT_VERSION_CACHE else "database"
    ),
    "session_engine": s.SESSION_ENGINE,
}, default=str))
"""


# The test run's own settings environment, which each probe replaces with its own.
STRIPPED = {"DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL", "REDIS_URL", "EMAIL_URL"}


def run_python(script, **environment):
    env = {key: value for key, value in os.environ.items() if key not in STRIPPED}
    env |= {"DJANGO_SETTINGS_MODULE": "stepup_site.settings", **environment}
    return subprocess.run(
        [sys.executable, "-c", script], cwd=PROJECT, env=env, capture_output=True, text=True
    )


def run_settings(**environment):
    return run_python(PRINT_SETTINGS, **environment)


def loaded_settings(**environment):
    result = run_settings(**environment)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@slow
def test_production_refuses_to_start_without_a_secret_key():
    result = run_settings(DEBUG="0", ALLOWED_HOSTS="example.org")
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


@slow
def test_production_refuses_a_weak_or_insecure_secret_key():
    for weak in ("short", "django-insecure-" + "x" * 60):
        result = run_settings(DEBUG="0", SECRET_KEY=weak, ALLOWED_HOSTS="example.org")
        assert result.returncode != 0
        assert "SECRET_KEY must be set" in result.stderr


@slow
def test_production_refuses_to_start_without_allowed_hosts():
    result = run_settings(DEBUG="0", SECRET_KEY=GOOD_KEY)
    assert result.returncode != 0
    assert "ALLOWED_HOSTS must be set" in result.stderr


@slow
def test_production_starts_with_real_secrets_and_serves_hashed_static_files():
    loaded = loaded_settings(DEBUG="0", SECRET_KEY=GOOD_KEY, ALLOWED_HOSTS="example.org")
    assert loaded["debug"] is False
    assert loaded["static_storage"] == "whitenoise.storage.CompressedManifestStaticFilesStorage"


@slow
def test_development_defaults_to_sqlite_with_wal_immediate_transactions_and_a_busy_timeout():
    loaded = loaded_settings(DEBUG="1")
    database = loaded["database"]
    assert database["ENGINE"] == "django.db.backends.sqlite3"
    assert database["NAME"] == str(PROJECT / "db.sqlite3")
    assert "journal_mode=WAL" in database["OPTIONS"]["init_command"]
    assert database["OPTIONS"]["transaction_mode"] == "IMMEDIATE"
    assert database["OPTIONS"]["timeout"] >= 5
    assert loaded["cache"] == "django.core.cache.backends.locmem.LocMemCache"
    assert loaded["email_backend"] == "django.core.mail.backends.console.EmailBackend"


@slow
def test_database_url_selects_postgresql_with_djangos_pool():
    loaded = loaded_settings(DEBUG="1", DATABASE_URL="postgres://postgres@db.example:5432/stepup")
    database = loaded["database"]
    assert database["ENGINE"] == "django.db.backends.postgresql"
    assert database["NAME"] == "stepup"
    assert database["OPTIONS"]["pool"]["max_size"] >= 1


@slow
def test_redis_url_selects_djangos_redis_cache():
    loaded = loaded_settings(DEBUG="1", REDIS_URL="redis://cache.example:6379/2")
    # Django's RedisCache, made to treat an unreachable Redis as a miss (core.cache).
    assert loaded["cache"] == "core.cache.ResilientRedisCache"
    assert loaded["cache_location"] == "redis://cache.example:6379/2"


@slow
def test_pages_are_cached_in_production_and_not_while_developing():
    production = loaded_settings(DEBUG="0", SECRET_KEY=GOOD_KEY, ALLOWED_HOSTS="example.org")
    assert production["page_cache_seconds"] == 600
    # Each worker's local memory holds pages; the version they hang on is shared.
    assert production["content_version_cache"] == "database"  # core.ContentVersion
    assert loaded_settings(DEBUG="1")["page_cache_seconds"] == 0
    with_redis = loaded_settings(DEBUG="1", REDIS_URL="redis://cache.example:6379/2")
    assert with_redis["content_version_cache"].endswith("RedisCache")
    assert with_redis["session_engine"] == "django.contrib.sessions.backends.cached_db"


@slow
def test_email_and_media_come_from_the_environment():
    loaded = loaded_settings(
        DEBUG="1", EMAIL_URL="smtp+tls://user:pw@mail.example:587", MEDIA_ROOT="/srv/media"
    )
    assert loaded["email_backend"] == "django.core.mail.backends.smtp.EmailBackend"
    assert loaded["email_host"] == "mail.example"
    assert loaded["media_root"] == "/srv/media"


PROBE_SQLITE = """
import django
django.setup()
from django.db import connection
with connection.cursor() as cursor:
    cursor.execute("PRAGMA journal_mode")
    journal = cursor.fetchone()[0]
    cursor.execute("PRAGMA synchronous")
    synchronous = cursor.fetchone()[0]
    cursor.execute("PRAGMA busy_timeout")
    busy = cursor.fetchone()[0]
print(journal, synchronous, busy)
"""


def run_script(script, **environment):
    result = run_python(script, **environment)
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


@slow
def test_django_opens_the_sqlite_file_in_wal_mode_with_a_busy_timeout(tmp_path):
    """Through Django's own connection, with the settings module's options."""
    journal, synchronous, busy = run_script(
        PROBE_SQLITE, DEBUG="1", DATABASE_URL=f"sqlite:///{tmp_path / 'probe.sqlite3'}"
    )
    assert journal == "wal"
    assert synchronous == "1"  # NORMAL
    assert int(busy) >= 5000


PROBE_CACHE = """
import django
django.setup()
from django.core.cache import caches
cache = caches["default"]
cache.set("settings-probe", {"titles": 7}, timeout=30)
from django.core.cache.backends.redis import RedisCache
print(isinstance(cache, RedisCache), cache.get("settings-probe")["titles"])
cache.delete("settings-probe")
"""


@slow
def test_the_configured_cache_round_trips_through_the_machines_redis(redis_url):
    """REDIS_URL makes the site's cache Redis, and it really stores and returns values."""
    backend, titles = run_script(PROBE_CACHE, DEBUG="1", REDIS_URL=redis_url)
    assert backend == "True"
    assert titles == "7"


@pytest.mark.django_db
def test_the_suite_runs_on_the_database_named_by_database_url():
    """Guards .ci/run's second pass: DATABASE_URL=postgres://... really tests PostgreSQL, pooled."""
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith(("postgres://", "postgresql://")):
        assert connection.vendor == "postgresql"
        assert settings.DATABASES["default"]["OPTIONS"]["pool"]
        assert connection.pool is not None
    else:
        assert connection.vendor == "sqlite"


@slow
def test_manage_py_is_the_developers_tool_and_the_served_site_stays_safe():
    """manage.py defaults to DEBUG on; wsgi.py (gunicorn) keeps refusing without secrets."""
    env = {key: value for key, value in os.environ.items() if key not in STRIPPED}
    checked = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=PROJECT, env=env, capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stderr
    served = subprocess.run(
        [sys.executable, "-c", "import stepup_site.wsgi"],
        cwd=PROJECT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert served.returncode != 0
    assert "SECRET_KEY must be set" in served.stderr


@slow
def test_development_logs_print_each_line_once():
    script = (
        "import django, logging; django.setup(); "
        "logging.getLogger('django.request').warning('marker-from-django-request'); "
        "logging.getLogger('reviews').warning('marker-from-the-site')"
    )
    result = run_python(script, DEBUG="1")
    assert result.returncode == 0, result.stderr
    assert result.stderr.count("marker-from-django-request") == 1
    assert result.stderr.count("marker-from-the-site") == 1
