"""Settings for the Step Up Community site.

One module, read from the environment (12-factor). Development defaults are
safe to run on a laptop; with DEBUG off the site refuses to start until the
secrets a public deployment needs are really set.
"""

import ipaddress
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

DEBUG = env.bool("DEBUG", default=False)

# A key Django generated for a throwaway project: fine for DEBUG, never for production.
_DEVELOPMENT_SECRET_KEY = "django-insecure-development-only-key-do-not-use-in-production"
SECRET_KEY = env.str("SECRET_KEY", default=_DEVELOPMENT_SECRET_KEY if DEBUG else "")
ALLOWED_HOSTS = env.list(
    "ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"] if DEBUG else []
)

if not DEBUG:
    # Same bar as `check --deploy` (security.W009): long, varied and not Django's insecure prefix.
    if (
        len(SECRET_KEY) < 50
        or len(set(SECRET_KEY)) < 5
        or SECRET_KEY.startswith("django-insecure-")
    ):
        raise ImproperlyConfigured(
            "SECRET_KEY must be set to a long random value when DEBUG is off "
            "(at least 50 characters, not starting with 'django-insecure-')."
        )
    if not ALLOWED_HOSTS:
        raise ImproperlyConfigured("ALLOWED_HOSTS must be set when DEBUG is off.")

INSTALLED_APPS = [
    # Before the admin: its translation admin classes and the catalog's *_en/*_es fields
    # (films/translation.py) must be registered before the admin autodiscovers.
    "modeltranslation",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.humanize",
    "django.contrib.sitemaps",
    # Before staticfiles so runserver serves static files the way production does.
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_include_bootstrap",
    "crispy_forms",
    "crispy_bootstrap5",
    "imagekit",
    "axes",
    # For its system check: it refuses a rate-limit cache that is not shared between processes.
    "django_ratelimit",
    # The task queue that sends mail after the response (django-tasks, with its database
    # backend: a table in the site's own database, so SQLite and PostgreSQL need nothing more).
    "django_tasks",
    "django_tasks_db",
    # The site's infrastructure (caching, rate limits, request guards, backup and restore).
    "core",
    "accounts",
    "films",
    "reviews",
    # Full-text search over the catalog (PostgreSQL full-text search or SQLite FTS5).
    "search",
]

MIDDLEWARE = [
    # First: everything after it (rate limits, login throttling, logs) sees the real client.
    "core.security.ClientAddressMiddleware",
    # The headers every response carries, above anything that can answer: error pages, the
    # 400 and 413, static files, pages from the cache and the sign-in lockout all pass
    # through them.
    "django.middleware.security.SecurityMiddleware",
    "django_permissions_policy.PermissionsPolicyMiddleware",
    "core.security.CrossOriginResourcePolicyMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Before anything reads the path, the query string or the session cookie.
    "core.request_guards.RequestGuardMiddleware",
    "core.security.RequestSizeLimitMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Before the page cache: a visitor who prefers Spanish is sent to the Spanish page
    # before an English copy could answer them.
    "core.i18n.PreferredLanguageMiddleware",
    # Before the page cache: what a page's address is made of, for it and the view.
    "core.caching.PageQueryMiddleware",
    "core.caching.AnonymousPageCacheMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "core.security.PrivatePagesMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Last: it answers for a locked-out sign-in before the view runs.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "stepup_site.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "core.i18n.page_links",
                "accounts.context_processors.return_to",
            ],
        },
    },
]

WSGI_APPLICATION = "stepup_site.wsgi.application"

# --- Database -------------------------------------------------------------
# Embedded default: an SQLite file beside manage.py. Production: DATABASE_URL,
# e.g. postgres://user:password@host:5432/stepup (psycopg 3 with Django's pool).
DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
_database = DATABASES["default"]
if _database["ENGINE"] == "django.db.backends.sqlite3":
    _database["OPTIONS"] = {
        # WAL lets readers work while one writer writes; IMMEDIATE takes the write
        # lock at BEGIN so two writers queue on the busy timeout instead of failing
        # with "database is locked" halfway through a transaction.
        "init_command": (
            "PRAGMA journal_mode=WAL;"
            # NORMAL is safe from corruption in WAL mode; a power cut (not a crash)
            # can lose the last commits. The price of not syncing on every commit.
            "PRAGMA synchronous=NORMAL;"
            # Reads of the hottest 64 MB (indexes) straight from the page cache. Mapped
            # pages count in each worker's resident memory, hence not more.
            "PRAGMA mmap_size=67108864;"
        ),
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
    # Keep each worker thread's connection: opening one costs more than most queries.
    _database["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=600)
    _database["CONN_HEALTH_CHECKS"] = True
elif _database["ENGINE"] == "django.db.backends.postgresql":
    # Django's own psycopg pool replaces persistent connections (CONN_MAX_AGE must be 0).
    # The pool is per process: gunicorn workers x DATABASE_POOL_MAX_SIZE must stay under
    # the server's max_connections.
    _database["CONN_MAX_AGE"] = 0
    # A connection is checked as it leaves the pool: after the server restarts, requests
    # get a fresh connection instead of a dead one (recovery with no app restart). Django
    # passes the pool ConnectionPool.check_connection itself when this is on; a "check" in
    # the pool options would be a second value for it (TypeError on the first connection).
    _database["CONN_HEALTH_CHECKS"] = True
    _database.setdefault("OPTIONS", {})["pool"] = {
        "min_size": env.int("DATABASE_POOL_MIN_SIZE", default=2),
        "max_size": env.int("DATABASE_POOL_MAX_SIZE", default=10),
        # How long a request waits for a connection before it is answered 503.
        "timeout": env.int("DATABASE_POOL_TIMEOUT", default=10),
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache ----------------------------------------------------------------
# Pages and fragments are cached under the versions of the scopes they show, which the
# writes to what they show change (core/caching.py). The versions must be seen by
# every app process at once: in production they live in Redis with the pages; on the
# embedded default, whose local-memory cache is private to each process, in the database
# (core.ContentVersion).
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            # Django's RedisCache, where Redis being unreachable is a cache miss rather than
            # an error: pages, sessions and rate limits keep working without it.
            "BACKEND": "core.cache.ResilientRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "stepup",
            "OPTIONS": {
                # Fail fast when Redis is unreachable, instead of hanging a worker.
                "socket_connect_timeout": env.float("REDIS_CONNECT_TIMEOUT", default=0.5),
                "socket_timeout": env.float("REDIS_TIMEOUT", default=1.0),
            },
        }
    }
    # Rate-limit counts, which every process must see alike.
    SHARED_CACHE = "default"
    # Sessions read from Redis, written through to the database.
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "stepup",
            # Pages are up to ~55 KB, review cards about 2 KB: 1,000
            # entries keep each worker's memory in bounds (a write leaves the entries of
            # the old versions of its scopes behind until culled).
            "OPTIONS": {"MAX_ENTRIES": 1000},
        },
        # What every app process must see alike, in a database table (created by core's
        # migration): local memory is private to a process.
        "shared": {
            "BACKEND": "core.cache.SharedDatabaseCache",
            "LOCATION": "stepup_rate_limits",
            # Counts live an hour or a day; expired ones are removed once this is passed.
            "OPTIONS": {"MAX_ENTRIES": 1_000_000},
        },
    }
    SHARED_CACHE = "shared"
# Where the scope versions live: in Redis with the pages, or (None) in the database's
# core.ContentVersion table, which every process sees and which commits with the writes.
CONTENT_VERSION_CACHE = "default" if REDIS_URL else None
# The project's map of what each page shows and what each write changes (core.caching).
PAGE_CACHE_SCOPES = "stepup_site.cache_scopes"
# The apps whose writes make pages stale (groups and their permissions decide what staff see).
PAGE_CACHE_WATCHED_APPS = ["auth", "accounts", "films", "reviews"]
# How long a cached page may live; a write makes it stale at once anyway. 0 = off, the
# default under DEBUG, where a template being edited must show on the next reload.
PAGE_CACHE_SECONDS = env.int("PAGE_CACHE_SECONDS", default=0 if DEBUG else 600)
# A query string (after keeping only the parameters a page reads) longer than this is not
# cached; past this many different ones for a page, new ones are not kept either (until the
# next write to it). A legitimate query (a sort, a page, a search of up to 100 letters) is shorter.
PAGE_CACHE_MAX_QUERY_LENGTH = env.int("PAGE_CACHE_MAX_QUERY_LENGTH", default=256)
PAGE_CACHE_QUERY_VARIANTS = env.int("PAGE_CACHE_QUERY_VARIANTS", default=100)
# Whether responses say what the page caches did (X-Page-Cache: hit, stale or
# miss). For development, the tests and the benchmark; the public learns nothing from them.
EXPOSE_CACHE_HEADERS = env.bool("EXPOSE_CACHE_HEADERS", default=DEBUG)
# With Redis, each process also keeps the visitors' pages and the fragments (cards, members'
# shared pages) it used last in its own memory, up to this many bytes, used while their
# versions are current (core.caching): a hit then reads a few versions from Redis
# instead of the whole page. Without Redis the page cache already is the process's memory: a
# second copy would only double what a worker holds.
PAGE_CACHE_LOCAL_BYTES = env.int(
    "PAGE_CACHE_LOCAL_BYTES", default=24 * 1024 * 1024 if REDIS_URL else 0
)
# Never from the whole-page cache: the admin, accounts (forms), the liveness probe.
PAGE_CACHE_SKIP_PREFIXES = ("/admin/", "/accounts/", "/healthz")

# --- Auth -------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "films:home"
LOGOUT_REDIRECT_URL = "films:home"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Moderation ---------------------------------------------------------------
# Hold every new review for approval before it is public.
REVIEWS_HOLD_NEW = env.bool("REVIEWS_HOLD_NEW", default=False)
# Hold reviews from accounts younger than this many days (0: no hold).
REVIEWS_HOLD_ACCOUNTS_YOUNGER_THAN_DAYS = env.int(
    "REVIEWS_HOLD_ACCOUNTS_YOUNGER_THAN_DAYS", default=0
)
# An item reported by this many different members is held for a moderator by itself.
REPORTS_TO_HOLD = env.int("REPORTS_TO_HOLD", default=3)

# --- Internationalisation --------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [
    ("en", _("English")),
    ("es", _("Spanish")),
]
LOCALE_PATHS = [BASE_DIR / "locale"]
# The site's own date and number formats per language, over Django's (stepup_site/formats/).
# USE_THOUSAND_SEPARATOR stays off: it would group every number a template prints, ids in
# links and form values included; counts are grouped where shown, with humanize's intcomma.
FORMAT_MODULE_PATH = ["stepup_site.formats"]
# Catalog texts in both languages (django-modeltranslation, films/translation.py): English is
# the source, every text has it, and a text not yet in Spanish is shown in English (marked
# lang="en" by films.templatetags.translated_text), never machine-translated.
MODELTRANSLATION_DEFAULT_LANGUAGE = "en"
MODELTRANSLATION_FALLBACK_LANGUAGES = ("en",)
# Slugs come from the English name whatever the editor's language.
MODELTRANSLATION_PREPOPULATE_LANGUAGE = "en"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static and media files ------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "staticfiles")
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = env.str("MEDIA_URL", default="media/")
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "media")
# Uploaded files are served by Django only where nothing else serves them (development,
# a single-box install). Behind a real web server or object storage, leave this off.
SERVE_MEDIA = env.bool("SERVE_MEDIA", default=DEBUG)

STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# Resized poster copies are made when a poster is saved, so showing a list never checks
# or generates files (and never trusts a cached "exists" for a file that was removed).
IMAGEKIT_DEFAULT_CACHEFILE_STRATEGY = "imagekit.cachefiles.strategies.Optimistic"

# Posters: the largest upload accepted and the largest image Pillow may decode
# (a small file can still decompress into a huge bitmap).
POSTER_MAX_UPLOAD_BYTES = env.int("POSTER_MAX_UPLOAD_BYTES", default=5 * 1024 * 1024)
# 16 MP (4,000 x 4,000) is far more than any page shows and keeps the process that decodes an
# upload (films/poster_process.py) near 64 MB for the bitmap.
POSTER_MAX_PIXELS = env.int("POSTER_MAX_PIXELS", default=16_000_000)
# What is stored is scaled down to fit this square: the title page shows a poster a few
# hundred pixels wide, twice that on a high-density screen.
POSTER_MAX_SIDE = env.int("POSTER_MAX_SIDE", default=2400)
# No request body may be larger. Twice the poster limit, so a poster a little too large
# still reaches the form and its message saying by how much.
MAX_REQUEST_BYTES = env.int("MAX_REQUEST_BYTES", default=2 * POSTER_MAX_UPLOAD_BYTES + 1024 * 1024)

# --- Email -------------------------------------------------------------------
# Console in development; production sets EMAIL_URL, e.g. smtp+tls://user:pass@host:587
_email = env.email_url("EMAIL_URL", default="consolemail://")
EMAIL_BACKEND = _email["EMAIL_BACKEND"]
EMAIL_HOST = _email.get("EMAIL_HOST") or "localhost"
EMAIL_PORT = _email.get("EMAIL_PORT") or 25
EMAIL_HOST_USER = _email.get("EMAIL_HOST_USER") or ""
EMAIL_HOST_PASSWORD = _email.get("EMAIL_HOST_PASSWORD") or ""
EMAIL_USE_TLS = bool(_email.get("EMAIL_USE_TLS"))
EMAIL_USE_SSL = bool(_email.get("EMAIL_USE_SSL"))
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Step Up Community <noreply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Mail leaves from a task queue, never inside a request (accounts/tasks.py): tasks wait in a
# database table until `manage.py db_worker` (started by `make run`) sends them.
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

# --- Forms ---------------------------------------------------------------------
CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# --- Security ------------------------------------------------------------------
# Production is served over HTTPS only. Every default here is the production one (what
# `check --deploy` asks for); a plain-HTTP set-up on loopback (tests, `make bench`) turns
# SECURE_SSL_REDIRECT off explicitly.
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
# Load balancers check liveness over plain HTTP, and follow no redirect.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
# Browsers remember for a year to use HTTPS only, on every subdomain too.
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 365 * 24 * 3600)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_SECONDS > 0
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=SECURE_HSTS_SECONDS > 0)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "strict-origin-when-cross-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Nothing here is for other sites' pages to load (core.security).
SECURE_CROSS_ORIGIN_RESOURCE_POLICY = "same-origin"
# Powerful browser features no page uses, refused to this site and to anything it could
# ever embed (django-permissions-policy), and no interest-based advertising cohorts.
PERMISSIONS_POLICY = {
    feature: []
    for feature in (
        "accelerometer",
        "ambient-light-sensor",
        "autoplay",
        "bluetooth",
        "browsing-topics",
        "camera",
        "display-capture",
        "encrypted-media",
        "geolocation",
        "gyroscope",
        "hid",
        "idle-detection",
        "interest-cohort",
        "magnetometer",
        "microphone",
        "midi",
        "payment",
        "publickey-credentials-get",
        "serial",
        "usb",
        "xr-spatial-tracking",
    )
}

# Cookies only travel encrypted, are out of scripts' reach and stay on this site.
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SESSION_COOKIE_HTTPONLY = True
# The helpful-vote script reads the token from the page's form, never from the cookie.
CSRF_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
LANGUAGE_COOKIE_SECURE = SESSION_COOKIE_SECURE
LANGUAGE_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_SAMESITE = "Lax"
# The visitor's choice of language is remembered for a year.
LANGUAGE_COOKIE_AGE = 365 * 24 * 60 * 60
# Origins allowed to POST (e.g. https://stepup.example.org), needed behind a TLS proxy.
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# Behind one reverse proxy (nginx, a load balancer) that terminates TLS: it sets
# X-Forwarded-Proto and appends the address it saw to X-Forwarded-For. Only then are those
# headers read, and only the part that proxy wrote (core.security).
BEHIND_PROXY = env.bool("BEHIND_PROXY", default=False)
# Where that proxy connects from; a request from anywhere else keeps its own address.
TRUSTED_PROXIES = [
    ipaddress.ip_network(network, strict=False)
    for network in env.list("TRUSTED_PROXIES", default=["127.0.0.1", "::1"])
]
if BEHIND_PROXY:
    # Read only from requests that came through that proxy: ClientAddressMiddleware drops
    # the header from every other peer. gunicorn.conf.py makes gunicorn agree.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Content-Security-Policy (django-csp): scripts, styles, fonts and images from this site
# only, no inline code, no plugins, no <base> rewriting, never framed. Bootstrap's CSS draws
# its icons (selects, the menu button) from data: SVGs, hence data: for images.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "form-action": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "frame-ancestors": ["'none'"],
    },
}

# --- Abuse ------------------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    # django-axes first: it refuses a locked-out account or address before any password check.
    "axes.backends.AxesStandaloneBackend",
    "accounts.backends.MemberBackend",
]
# Failed sign-ins are counted for an account from one client address (5), and for an
# address whatever the accounts (20): that pair, or that address, waits out the cool-off.
# Never an account from everywhere, or anyone could keep its owner out (admins included).
# accounts.throttling gives each group its own limit.
AXES_HANDLER = "accounts.throttling.SignInThrottle"
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
LOGIN_ADDRESS_FAILURE_LIMIT = env.int("LOGIN_ADDRESS_FAILURE_LIMIT", default=20)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"], "ip_address"]
AXES_COOLOFF_TIME = env.float("LOGIN_COOLOFF_MINUTES", default=15) / 60  # hours
# A failure during a pause is not counted: counting it would restart the cool-off, and a
# pause could be kept up for ever with one guess per cool-off.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
# Not reset by a successful sign-in: that would wipe every failure from the address, so an
# attacker could guess 4 passwords, sign in to their own account, and go on for ever.
AXES_RESET_ON_SUCCESS = False
AXES_CLIENT_IP_CALLABLE = "core.security.lockout_address"
AXES_LOCKOUT_CALLABLE = "stepup_site.views.signin_locked_out"
# Attempts live in the database (durable, shared by every process); successful sign-ins
# are not logged there, only failures.
AXES_DISABLE_ACCESS_LOG = True
AXES_VERBOSE = False

# Writes and sign-ups are rate-limited (django-ratelimit) through the shared cache, so the
# limit holds across every app process and server. Rates are "count/period" (s, m, h, d).
RATELIMIT_ENABLE = env.bool("RATELIMIT_ENABLE", default=True)
RATELIMIT_USE_CACHE = SHARED_CACHE
RATELIMIT_IP_META_KEY = "core.security.client_address"
# If the cache is unreachable, let the request through rather than refuse everyone.
RATELIMIT_FAIL_OPEN = True
RATE_LIMITS = {
    "signup": env.str("RATE_LIMIT_SIGNUP", default="10/h"),
    "password_reset": env.str("RATE_LIMIT_PASSWORD_RESET", default="10/h"),
    # Per email address asked for, whatever address asks: no flooding one inbox.
    "password_reset_email": env.str("RATE_LIMIT_PASSWORD_RESET_EMAIL", default="3/h"),
    # Forms that check the member's password (change it, delete the account) outside
    # sign-in, where django-axes does not count: a stolen session must not guess on.
    "password_check": env.str("RATE_LIMIT_PASSWORD_CHECK", default="10/h"),
    "review": env.str("RATE_LIMIT_REVIEW", default="30/h"),
    "comment": env.str("RATE_LIMIT_COMMENT", default="60/h"),
    "vote": env.str("RATE_LIMIT_VOTE", default="300/h"),
    "report": env.str("RATE_LIMIT_REPORT", default="20/h"),
}
SILENCED_SYSTEM_CHECKS = [
    # django-ratelimit predates Django's own RedisCache and does not know it; its incr is
    # Redis INCRBY, atomic. SharedDatabaseCache makes incr atomic with a row lock.
    "django_ratelimit.W001",
]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    # Django gives its own logger a console handler under DEBUG; it also passes every line
    # on to the root's, which printed each one twice. The root's handler is enough.
    "loggers": {"django": {"handlers": [], "level": "INFO", "propagate": True}},
}
