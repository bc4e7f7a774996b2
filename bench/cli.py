"""Load-test the site as production serves it: `make bench` (python -m tools.bench --help).

Builds or reuses a benchmark database, serves it with gunicorn, DEBUG off and the hashed
static files, then measures each main page for a fixed time with wrk from a second process.
Prints a table, writes it as Markdown (with a description of the machine) to
bench-results-<sqlite|postgresql>.md, and exits non-zero when any request failed, a worker
grew past RSS_LIMIT_MB, or a title's stored rating aggregates stopped matching its reviews.

Before that table, the mixed load (tools/bench_mixed.py, --only mixed): the main pages read
while a writer process posts at each of --write-rates a second. After it, each main page's
uncached server time in process (tools/render_times.py, --only uncached).

--soak (`make soak`) instead runs one wrk run of mixed requests (60 s, 32 connections): reads
of every main page, anonymous and signed in, with members posting and editing reviews,
marking reviews helpful and commenting, each member well inside the site's rate limits.
Afterwards every title's aggregates and every review's helpful and comment counts are checked
against a recount, and what the run posted is taken away through reviews.services.
Written to bench-results-soak-<sqlite|postgresql>.md.

Database: DATABASE_URL when set (PostgreSQL), otherwise bench.sqlite3 beside manage.py.
Cache: REDIS_URL when set, otherwise each worker's own local memory.
"""

import argparse
import json
import math
import os
import platform
import re
import runpy
import secrets
import shlex
import shutil
import signal
import socket
import string
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

PROJECT_ROOT = Path(__file__).resolve().parent.parent
LUA_SCRIPT = PROJECT_ROOT / "bench" / "report.lua"
GUNICORN_CONF = PROJECT_ROOT / "stepup_site" / "gunicorn.conf.py"
SQLITE_FILE = PROJECT_ROOT / "bench.sqlite3"
GUNICORN_LOG = PROJECT_ROOT / "bench-gunicorn.log"

# What the caller set, before this run adds the production environment to it.
CALLER_ENVIRONMENT = dict(os.environ)
RSS_LIMIT_MB = 150
RSS_SAMPLE_SECONDS = 0.5
ALL_IN_NAME = "Step Up: All In"
SORTS = ("helpful", "newest", "highest", "lowest")
# What --only picks from; /healthz is the baseline and always measured. "mixed": pages
# read while a writer posts (tools/bench_mixed.py); "uncached": each main page's server
# time with every cache empty (tools/render_times.py).
STANDARD_GROUPS = ("home", "all-in", "person", "search", "signed-in", "write")
GROUPS = (*STANDARD_GROUPS, "mixed", "uncached")
SEARCH_TERM = "moose"
# Every review the write run posts has a headline starting so (the wrk script writes it).
POSTED_HEADLINE = "Bench run take"
# Reviews the write run may create, at most: enough for a few minutes of posting, and the
# runner deletes them all again afterwards.
WRITE_PAIRS_MAX = 6000
WRITE_USERS_PER_TITLE = 1000
# What the anonymous title page shows and a signed-in one never does.
ANONYMOUS_MARKER = "Sign in to rate and review"
# Every comment the soak posts starts so (the wrk script writes it).
SOAK_COMMENT_TEXT = "Bench soak comment"


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    data = parser.add_argument_group("benchmark data (python -m bench data)")
    data.add_argument(
        "--users",
        type=int,
        default=100_000,
        help="members (default %(default)s; the generator raises it to what All In needs)",
    )
    data.add_argument(
        "--reviews", type=int, default=1_000_000, help="reviews in all (default %(default)s)"
    )
    data.add_argument(
        "--all-in-reviews",
        type=int,
        default=250_000,
        help=f"reviews of {ALL_IN_NAME} among them (default %(default)s)",
    )
    data.add_argument(
        "--skip-data",
        action="store_true",
        help="no generation: measure the bench data already in the database (migrations and "
        "the catalog are still brought up to date)",
    )
    load = parser.add_argument_group("load")
    load.add_argument(
        "--soak",
        action="store_true",
        help="one run of mixed reads and writes instead of a run per endpoint (make soak)",
    )
    load.add_argument(
        "--duration",
        type=int,
        default=None,
        help="seconds per endpoint (default 10), or of the whole soak (default 60)",
    )
    load.add_argument(
        "--warmup",
        type=int,
        default=2,
        help="seconds of warm-up before each (default 2; the soak has none: it starts cold, "
        "as after a deploy)",
    )
    load.add_argument(
        "--connections",
        type=int,
        default=None,
        help="wrk keep-alive connections (default 16; 32 for the soak)",
    )
    load.add_argument("--wrk-threads", type=int, default=2, help="wrk threads (default 2)")
    load.add_argument(
        "--timeout",
        type=int,
        default=10,
        help="seconds before wrk gives a request up as an error (default %(default)s; wrk's "
        "own 2 s would turn a slow page into errors and leave it out of the latencies)",
    )
    load.add_argument(
        "--deep-page", type=int, default=5000, help="the deep review page (default 5000)"
    )
    load.add_argument(
        "--signed-in-users",
        type=int,
        default=400,
        help="members whose sessions the signed-in runs rotate through (default 400)",
    )
    load.add_argument(
        "--signed-in-warmup",
        type=int,
        default=10,
        help="seconds of warm-up before the signed-in run (default %(default)s): long "
        "enough for each worker to have shown most of the members their page once, so the "
        "run measures members opening it again; the first-visits run measures the rest",
    )
    load.add_argument(
        "--first-visits",
        type=int,
        default=8000,
        help="members for the first-visits run, each sent once (default %(default)s)",
    )
    load.add_argument(
        "--only",
        default="",
        help=f"measure only these, comma-separated, from {', '.join(GROUPS)} (/healthz is "
        "always measured; the write run and its aggregate check only when 'write' is chosen)",
    )
    load.add_argument(
        "--write-rates",
        default="0,1,5,20",
        help="mixed load: the background writer's writes a second, a run of the pages at "
        "each (default %(default)s; --only mixed runs that section alone)",
    )
    load.add_argument(
        "--renders",
        type=int,
        default=30,
        help="uncached server time: renders of each page (default %(default)s)",
    )
    server = parser.add_argument_group("gunicorn (defaults: stepup_site/gunicorn.conf.py)")
    server.add_argument("--workers", type=int, default=None, help="worker processes")
    server.add_argument(
        "--threads", type=int, default=None, help="threads per worker (1: sync workers)"
    )
    args = parser.parse_args(argv)
    from bench.mixed import parse_rates

    try:
        args.write_rates = parse_rates(args.write_rates)
    except argparse.ArgumentTypeError as error:
        parser.error(str(error))
    if args.soak and args.only:
        parser.error("--only picks endpoints of the bench; the soak mixes them all")
    if args.duration is None:
        args.duration = 60 if args.soak else 10
    if args.connections is None:
        args.connections = 32 if args.soak else 16
    if args.soak:
        args.warmup = 0
    return args


# --- Environment and set-up -------------------------------------------------------------


def random_secret_key():
    # Varied and 64 long: past the bar settings.py sets with DEBUG off (50, not Django's
    # insecure prefix).
    alphabet = string.ascii_letters + string.digits + "!@#%^&*(-_=+)"
    return "".join(secrets.choice(alphabet) for _ in range(64))


def bench_environment(args):
    """The production environment every process of the run shares (this one included)."""
    env = dict(os.environ)
    env.setdefault("DATABASE_URL", f"sqlite:///{SQLITE_FILE}")
    env.update(
        DJANGO_SETTINGS_MODULE="stepup_site.settings",
        DEBUG="0",
        SECRET_KEY=random_secret_key(),
        ALLOWED_HOSTS="127.0.0.1,localhost",
        # Plain HTTP on loopback: no TLS in front of gunicorn here.
        SECURE_SSL_REDIRECT="0",
        # Only what the site logs as a problem: a line per request would be measured too.
        LOG_LEVEL="WARNING",
        # Workers are never recycled during the run: a leak then shows in the RSS check
        # instead of being reset, and no restart lands inside a measurement.
        GUNICORN_MAX_REQUESTS="0",
        # Not the machine's default gunicornc socket, which a real server may be using.
        GUNICORN_CONTROL_SOCKET="off",
    )
    if args.workers:
        env["GUNICORN_WORKERS"] = str(args.workers)
    if args.threads:
        env["GUNICORN_THREADS"] = str(args.threads)
    return env


def run_python(env, *arguments):
    """`python <arguments>` in a process of its own, from the project folder."""
    print(f"$ python {' '.join(arguments)}", flush=True)
    subprocess.run([sys.executable, *arguments], cwd=PROJECT_ROOT, env=env, check=True)


def manage(env, *arguments):
    run_python(env, "manage.py", *arguments)


def setup_django(env):
    os.environ.update(env)
    import django

    django.setup()


def bench_sizes():
    """(bench members, their reviews, their reviews of All In) in the database now."""
    from bench.data import bench_users
    from films.models import Title
    from reviews.models import Review

    bench_reviews = Review.objects.filter(author__in=bench_users())
    return (
        bench_users().count(),
        bench_reviews.count(),
        bench_reviews.filter(title__in=Title.objects.filter(name=ALL_IN_NAME)).count(),
    )


def delete_leftover_posts():
    """Reviews and comments an earlier run posted and could not take away (it was killed):
    they would make the data look changed and have it generated again. (A killed soak's
    helpful marks cannot be told from the generated ones; the counts stay right.)"""
    from django.db import transaction

    from reviews import services
    from reviews.models import Comment, Review

    for comment in Comment.objects.filter(body__startswith=SOAK_COMMENT_TEXT):
        # In a transaction of its own whether or not the service opens one: its row locks
        # (select_for_update) need one on PostgreSQL.
        with transaction.atomic():
            services.comment_delete(comment=comment)
    leftovers = Review.objects.filter(headline__startswith=POSTED_HEADLINE)
    for review in leftovers:
        services.review_delete(review=review)


def prepare_data(args, env):
    manage(env, "migrate", "--noinput", "-v", "0")
    manage(env, "load_catalog", "-v", "0")
    from django.db import connections

    delete_leftover_posts()
    if args.skip_data:
        return
    members, reviews, all_in_reviews = found = bench_sizes()
    connections.close_all()
    # The generator raises the member count when the busiest title needs more distinct authors.
    if members >= args.users and (reviews, all_in_reviews) == (args.reviews, args.all_in_reviews):
        # Generating takes minutes at full size: a second run measures the same data again
        # (the write run deletes the reviews it created, so the counts stay exact).
        print(f"Reusing the benchmark data: {members} members, {reviews} reviews.", flush=True)
        return
    wanted = (args.users, args.reviews, args.all_in_reviews)
    print(f"Benchmark data (members, reviews, All In): found {found}, want {wanted}.", flush=True)
    run_python(
        env,
        "-m",
        "bench",
        "data",
        "--users",
        str(args.users),
        "--reviews",
        str(args.reviews),
        "--all-in-reviews",
        str(args.all_in_reviews),
        # Deletes only the bench members and what they wrote; nothing on an empty database.
        "--replace",
    )
    from django.conf import settings
    from django.core.cache import caches

    # The generator writes in bulk, past the signals that tell cached pages the content
    # changed: start from empty caches (with REDIS_URL, its whole Redis database).
    for alias in settings.CACHES:
        caches[alias].clear()


# --- What to measure --------------------------------------------------------------------


@dataclass
class Endpoint:
    name: str
    path: str
    # Extra environment for the wrk script: sessions to rotate through, review posts.
    script_env: dict = field(default_factory=dict)
    writes: bool = False
    signed_in: bool = False
    # The warm-up's own script environment and length, when not the run's.
    warmup_env: dict | None = None
    warmup_seconds: float | None = None
    # Each request a different member, none of them seen before: the run fails past this.
    distinct_requests: int | None = None


@dataclass
class Measurement:
    endpoint: Endpoint
    result: dict
    peak_rss_mb: float
    connection_split: str = ""
    note: str = ""


def all_in_title():
    from films.models import Title

    return Title.objects.get(name=ALL_IN_NAME)


def deep_page_url(title, sort, wanted_page):
    """Page `wanted_page` of the title's reviews (the last one when there are fewer)."""
    try:
        from reviews.pagination import REVIEWS_PER_PAGE, page_url
    except ImportError:
        # Before keyset pagination: the offset paginator's own links.
        from reviews.views import REVIEWS_PER_PAGE

        def page_url(title, *, sort, page):
            return f"{title.get_absolute_url()}?sort={sort}&page={page}"

    pages = max(1, math.ceil(title.text_review_count / REVIEWS_PER_PAGE))
    page = min(wanted_page, pages)
    return page, page_url(title, sort=sort, page=page)


def director_path(title):
    from films.models import Credit

    credit = (
        Credit.objects.filter(title=title, role=Credit.Role.DIRECTOR)
        .select_related("person")
        .order_by("pk")
        .first()
    )
    if credit is None:
        raise SystemExit(f"No director is credited on {title.name}: load_catalog first.")
    return credit.person.get_absolute_url()


def signed_in_sessions(users):
    """A fresh session for each member, exactly as django.contrib.auth.login makes one."""
    from importlib import import_module

    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.db import transaction

    session_store = import_module(settings.SESSION_ENGINE).SessionStore
    keys = {}
    with transaction.atomic():
        for user in users:
            session = session_store()
            session[SESSION_KEY] = user._meta.pk.value_to_string(user)
            session[BACKEND_SESSION_KEY] = "accounts.backends.MemberBackend"
            session[HASH_SESSION_KEY] = user.get_session_auth_hash()
            session.create()
            keys[user.pk] = session.session_key
    return keys


def delete_sessions(keys):
    from importlib import import_module

    from django.conf import settings

    session_store = import_module(settings.SESSION_ENGINE).SessionStore
    for key in keys:
        session_store(session_key=key).delete()


def bench_members():
    """Bench members who can sign in: active, never suspended."""
    from bench.data import bench_users

    return bench_users().filter(is_active=True, suspended_at__isnull=True)


def unreviewed_pairs():
    """(member, title) pairs where the member has no review of the title: posting creates."""
    from films.models import Title

    per_title = []
    for title in Title.objects.order_by("pk"):
        members = bench_members().exclude(reviews__title=title).order_by("-pk")
        members = list(members[:WRITE_USERS_PER_TITLE])
        # Only members with the whole review rate limit ahead of them: a run within the
        # last hour used some of it, and a 429 would count as a failed request.
        room, limit = rate_limit_room([member.pk for member in members], "review")
        per_title.append([(member, title) for member in members if room[member.pk] == limit])
    # Interleaved, so the creates of any stretch of the run spread over every title.
    pairs = [pair for row in zip(*per_title, strict=False) for pair in row]
    if not pairs:
        pairs = [pair for column in per_title for pair in column]
    return pairs[:WRITE_PAIRS_MAX]


def csrf_secret():
    """A CSRF cookie as a browser holds it: 32 letters and digits."""
    return "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(32))


def write_lines(folder, name, lines):
    path = Path(folder) / name
    path.write_text("".join(f"{line}\n" for line in lines))
    return str(path)


# --- Serving and measuring ----------------------------------------------------------------


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Gunicorn:
    """gunicorn stepup_site.wsgi with the production config, in its own process group."""

    def __init__(self, env, port):
        self.port = port
        self.base_url = f"http://127.0.0.1:{port}"
        self.env = {**env, "GUNICORN_BIND": f"127.0.0.1:{port}"}
        self.process = None
        self.log = None

    def start(self):
        self.log = GUNICORN_LOG.open("w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "stepup_site.wsgi", "-c", str(GUNICORN_CONF)],
            cwd=PROJECT_ROOT,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            # Ctrl-C reaches only this runner, which then stops gunicorn gracefully.
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"gunicorn exited at start-up:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.base_url}/healthz", timeout=2) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        raise SystemExit(f"gunicorn did not answer /healthz within 60 s:\n{self.log_tail()}")

    def stop(self):
        try:
            if self.process is not None and self.process.poll() is None:
                self.process.send_signal(signal.SIGTERM)  # graceful: finish requests in flight
                try:
                    self.process.wait(timeout=40)
                except subprocess.TimeoutExpired:
                    # Its own process group: the workers go with the master.
                    os.killpg(self.process.pid, signal.SIGKILL)
                    self.process.wait(timeout=10)
        finally:
            if self.log is not None:
                self.log.close()

    def log_tail(self, lines=30):
        if self.log is not None and not self.log.closed:
            self.log.flush()
        if not GUNICORN_LOG.exists():
            return ""
        return "\n".join(GUNICORN_LOG.read_text(errors="replace").splitlines()[-lines:])


def child_pids(parent_pid):
    children = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue  # exited while we looked
        # The command name is in parentheses and may hold spaces: fields start after it.
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        if parent == parent_pid:
            children.append(int(entry))
    return children


def resident_mb(pid):
    """(VmRSS, RssAnon) in MB, or None once the process is gone.

    VmRSS is the limit's measure; RssAnon is the worker's own heap, without the pages of
    files it maps (SQLite maps up to 128 MB of the database: shared page cache, counted in
    every worker's VmRSS)."""
    fields = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            name, _colon, value = line.partition(":")
            if name in {"VmRSS", "RssAnon"}:
                fields[name] = int(value.split()[0]) / 1024
    except OSError:
        return None
    if "VmRSS" not in fields:
        return None  # a zombie has no memory left to report
    return fields["VmRSS"], fields.get("RssAnon", 0.0)


def connections_by_process(port):
    """{pid: established connections to `port`}, from ss (iproute2); {} without it."""
    try:
        listing = subprocess.run(
            ["ss", "-tnpH", "state", "established", f"( sport = :{port} )"],
            capture_output=True,
            text=True,
            timeout=5,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return {}
    return Counter(int(pid) for pid in re.findall(r"pid=(\d+)", listing))


class WorkerMemory(threading.Thread):
    """Samples every gunicorn worker's resident memory while the load runs, and how wrk's
    keep-alive connections are spread over the workers.

    A connection stays with the worker that accepted it for the whole run. With gunicorn's
    own gthread worker 16 connections often ended up 16 to 0, and the run then measured one
    core's worth of Python; stepup_site/gunicorn_worker.py spreads them. The split is
    reported with each row, so a row measured on a lopsided split can be told apart.
    """

    def __init__(self, master_pid, port=None):
        super().__init__(daemon=True)
        self.master_pid = master_pid
        self.port = port
        self.window_split = Counter()
        self.peak_by_worker = {}  # pid: peak VmRSS
        self.anon_peak_by_worker = {}  # pid: peak RssAnon
        self.window_peak = 0.0
        self.stopping = threading.Event()

    def run(self):
        while not self.stopping.wait(RSS_SAMPLE_SECONDS):
            self.sample()

    def sample(self):
        for pid in child_pids(self.master_pid):
            resident = resident_mb(pid)
            if resident is None:
                continue
            total, anonymous = resident
            self.peak_by_worker[pid] = max(self.peak_by_worker.get(pid, 0.0), total)
            self.anon_peak_by_worker[pid] = max(self.anon_peak_by_worker.get(pid, 0.0), anonymous)
            self.window_peak = max(self.window_peak, total)
        if self.port:
            split = connections_by_process(self.port)
            if sum(split.values()) >= sum(self.window_split.values()):
                self.window_split = split

    def start_window(self):
        self.window_peak = 0.0
        self.window_split = Counter()

    def split_text(self):
        """ "9/7": connections per worker, busiest first, workers without any included."""
        workers = child_pids(self.master_pid)
        counts = sorted((self.window_split.get(pid, 0) for pid in workers), reverse=True)
        return "/".join(str(count) for count in counts) if any(counts) else "?"

    def stop(self):
        self.stopping.set()
        self.join(timeout=5)


def run_wrk(url, seconds, args, script_env=None):
    command = ["wrk", f"-t{args.wrk_threads}", f"-c{args.connections}", f"-d{seconds}s"]
    command += [f"--timeout={args.timeout}s", "--latency", "-s", str(LUA_SCRIPT), url]
    env = {**os.environ, "BENCH_THREADS": str(args.wrk_threads), **(script_env or {})}
    finished = subprocess.run(
        command, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=seconds + 60
    )
    for line in reversed(finished.stdout.splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    raise SystemExit(f"wrk gave no result for {url}:\n{finished.stdout}\n{finished.stderr}")


def fetch(url, cookie=None):
    request = urllib.request.Request(url, headers={"Cookie": cookie} if cookie else {})
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(errors="replace")


def preflight(server, endpoint, member_name=None, cookie=None):
    """One request before the load: a page that fails, or a session that does not sign
    in, would otherwise be measured as fast and fine."""
    status, body = fetch(server.base_url + endpoint.path, cookie)
    if status != 200:
        raise SystemExit(f"{endpoint.name}: {endpoint.path} answered {status}")
    if cookie and (ANONYMOUS_MARKER in body or f">{member_name}</a>" not in body):
        raise SystemExit(f"{endpoint.name}: the session cookie did not sign {member_name} in")


def measure(server, memory, endpoint, args):
    url = server.base_url + endpoint.path
    warmup_seconds = endpoint.warmup_seconds if endpoint.warmup_seconds else args.warmup
    if warmup_seconds:
        warmup_env = endpoint.script_env if endpoint.warmup_env is None else endpoint.warmup_env
        if endpoint.writes:
            # Warming up with posts would use up the pairs the measured run creates with.
            warmup_env = {k: v for k, v in warmup_env.items() if k != "BENCH_WRITES_FILE"}
        run_wrk(url, warmup_seconds, args, warmup_env)
    memory.start_window()
    result = run_wrk(url, args.duration, args, endpoint.script_env)
    memory.sample()
    print(
        f"  {endpoint.name:<44} {result['rps']:>9.1f} req/s  p50 {result['p50_ms']:.1f} ms  "
        f"p99 {result['p99_ms']:.1f} ms  errors {result['errors']}",
        flush=True,
    )
    return Measurement(endpoint, result, memory.window_peak, memory.split_text())


# --- Checks -----------------------------------------------------------------------------


def aggregate_mismatches():
    """Every title's stored rating aggregates against a fresh count of its reviews."""
    from films.models import Title
    from reviews.services import title_aggregates_recount

    problems = []
    for title in Title.objects.order_by("pk"):
        for key, counted in title_aggregates_recount(title).items():
            stored = getattr(title, key)
            if stored != counted:
                problems.append(f"{title.slug}: {key} stored {stored}, counted {counted}")
    return problems


# --- Report ------------------------------------------------------------------------------


def redacted(database_url):
    parts = urlsplit(database_url)
    if parts.password:
        netloc = f"{parts.username}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
        return urlunsplit(parts._replace(netloc=netloc))
    return database_url


def machine_description(env, gunicorn_settings, args, load_before):
    from django.db import connection

    cpu_model = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu_model = line.split(":", 1)[1].strip()
            break
    memory_kb = next(
        int(line.split()[1])
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal:")
    )
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SHOW server_version")
            database = f"PostgreSQL {cursor.fetchone()[0]}"
        else:
            cursor.execute("SELECT sqlite_version()")
            database = f"SQLite {cursor.fetchone()[0]} (WAL)"
    database += f", {redacted(env['DATABASE_URL'])}"
    cache = "local memory, per worker"
    if env.get("REDIS_URL"):
        import redis

        version = redis.Redis.from_url(env["REDIS_URL"]).info()["redis_version"]
        cache = f"Redis {version}, {env['REDIS_URL']}"
    workers = gunicorn_settings["workers"]
    threads = gunicorn_settings["threads"]
    shown_env = " ".join(
        f"{name}={shlex.quote(redacted(env[name]))}"
        for name in ("DATABASE_URL", "REDIS_URL")
        if CALLER_ENVIRONMENT.get(name)
    )
    command = "python -m bench " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    return [
        ("CPU", f"{len(os.sched_getaffinity(0))} cores (nproc), {cpu_model}"),
        ("Load before the run", f"{load_before:.2f} (1-minute load average)"),
        ("RAM", f"{memory_kb / 1024 / 1024:.1f} GiB"),
        ("OS", f"{platform.platform()}, Python {platform.python_version()}"),
        ("Database", database),
        ("Cache", cache),
        (
            "gunicorn",
            f"{gunicorn_settings['worker_class']}, {workers} workers x {threads} threads, "
            f"stepup_site/gunicorn.conf.py",
        ),
        (
            "Load",
            f"wrk -t{args.wrk_threads} -c{args.connections} -d{args.duration}s, "
            + (
                "one run of mixed requests, no warm-up"
                if args.soak
                else f"{args.warmup} s warm-up per endpoint"
            )
            + ", on the same machine",
        ),
        ("Command", f"`{(shown_env + ' ') if shown_env else ''}{command}`"),
    ]


def table_rows(measurements):
    baseline = measurements[0].result["rps"] if measurements else 0
    rows = []
    for measured in measurements:
        result = measured.result
        ratio = result["rps"] / baseline if baseline else 0
        rows.append(
            [
                measured.endpoint.name + (f" ({measured.note})" if measured.note else ""),
                f"{result['rps']:.1f}",
                f"{result['p50_ms']:.1f}",
                f"{result['p95_ms']:.1f}",
                f"{result['p99_ms']:.1f}",
                str(result["errors"]),
                f"{ratio:.2f}",
                f"{measured.peak_rss_mb:.0f}",
                measured.connection_split,
            ]
        )
    return rows


HEADINGS = [
    "endpoint",
    "req/s",
    "p50 ms",
    "p95 ms",
    "p99 ms",
    "errors",
    "x /healthz",
    "RSS MB",
    "conns/worker",
]


def text_table(rows):
    widths = [max(len(row[i]) for row in [HEADINGS, *rows]) for i in range(len(HEADINGS))]

    def line(cells):
        first = cells[0].ljust(widths[0])
        rest = (cell.rjust(width) for cell, width in zip(cells[1:], widths[1:], strict=True))
        return "  ".join([first, *rest])

    return "\n".join([line(HEADINGS), line(["-" * w for w in widths]), *map(line, rows)])


def markdown_table(rows):
    lines = ["| " + " | ".join(HEADINGS) + " |", "|" + "---|" + "---:|" * (len(HEADINGS) - 1)]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
    return "\n".join(lines)


# --- The run -------------------------------------------------------------------------------


def read_endpoints(args, title, chosen):
    """The anonymous pages, and a note when the deep page had to be a shallower one."""
    endpoints = [Endpoint("/healthz", "/healthz")]  # the baseline, always measured
    note = ""
    if "home" in chosen:
        endpoints.append(Endpoint("home /", "/"))
    if "all-in" in chosen:
        for sort in SORTS:
            first_page = f"{title.get_absolute_url()}?sort={sort}"
            endpoints.append(Endpoint(f"All In ?sort={sort} page 1", first_page))
        for sort in SORTS:
            page, path = deep_page_url(title, sort, args.deep_page)
            if page != args.deep_page:
                note = f"the deep page is {page}: All In has only {page} pages of reviews"
            endpoints.append(Endpoint(f"All In ?sort={sort} page {page}", path))
    if "person" in chosen:
        endpoints.append(Endpoint("person (All In's director)", director_path(title)))
    if "search" in chosen:
        endpoints.append(Endpoint(f"search ?q={SEARCH_TERM}", f"/search/?q={SEARCH_TERM}"))
    return endpoints, note


@dataclass
class SignedInRun:
    """Sessions made for the run, deleted again at its end."""

    cookie_name: str
    folder: str
    session_keys: dict = field(default_factory=dict)
    sample_member: object = None
    reading_sessions_file: str = ""
    # The write run: the pairs it may create, and the last review id before it.
    write_pairs: list = field(default_factory=list)
    last_review_before: int = 0

    def sessions_for(self, members):
        self.session_keys.update(
            signed_in_sessions(m for m in members if m.pk not in self.session_keys)
        )
        return [self.session_keys[member.pk] for member in members]

    def page_endpoint(self, title, count, *, warmup_seconds=None):
        """Members taking turns on the All In page: after the warm-up, each opening it
        again, as they do between two changes to the site."""
        members = list(bench_members().order_by("pk")[:count])
        if not members:
            raise SystemExit("No bench members: run without --skip-data to generate them.")
        self.sample_member = members[0]
        sessions_file = write_lines(self.folder, "sessions.txt", self.sessions_for(members))
        self.reading_sessions_file = sessions_file
        return Endpoint(
            f"All In signed in ({len(members)} members in turn)",
            title.get_absolute_url(),
            self._reading_env(sessions_file),
            signed_in=True,
            warmup_seconds=warmup_seconds,
        )

    def first_visits_endpoint(self, title, count, *, after):
        """Each request a member who has not opened the page before: nothing kept for
        them, only the copy shared by all members (warmed by the members of `after`)."""
        members = list(bench_members().order_by("pk")[after : after + count])
        if not members:
            raise SystemExit(f"The first-visits run needs more than {after} bench members.")
        if len(members) < count:
            # A smaller data set: the run fails if it sends more requests than there are.
            print(f"First visits: only {len(members)} members beyond the first {after}.")
        sessions_file = write_lines(self.folder, "first.txt", self.sessions_for(members))
        return Endpoint(
            f"All In signed in, first visits ({len(members)} members, once each)",
            title.get_absolute_url(),
            self._reading_env(sessions_file),
            signed_in=True,
            warmup_env=self._reading_env(self.reading_sessions_file),
            distinct_requests=len(members),
        )

    def _reading_env(self, sessions_file):
        return {
            "BENCH_SESSIONS_FILE": sessions_file,
            "BENCH_COOKIE_NAME": self.cookie_name,
            # As a browser sends it once a page with a form has set it.
            "BENCH_CSRF_SECRET": csrf_secret(),
        }

    def write_endpoint(self):
        from django.db.models import Max

        from reviews.models import Review

        self.write_pairs = unreviewed_pairs()
        if not self.write_pairs:
            raise SystemExit("Every bench member has reviewed every title: nothing to create.")
        writers = list({member.pk: member for member, _title in self.write_pairs}.values())
        self.sessions_for(writers)
        pairs_file = write_lines(
            self.folder,
            "writes.txt",
            [f"{self.session_keys[member.pk]} {t.slug}" for member, t in self.write_pairs],
        )
        # The warm-up GETs one title's review form as members who have not reviewed it (a
        # member whose review a moderator removed would get a 403 there).
        warmup_title = self.write_pairs[0][1]
        warmup_sessions = [
            self.session_keys[member.pk] for member, t in self.write_pairs if t == warmup_title
        ]
        self.last_review_before = Review.objects.aggregate(last=Max("pk"))["last"] or 0
        return Endpoint(
            f"post/edit reviews ({len(writers)} members)",
            f"/titles/{warmup_title.slug}/review/",
            {
                "BENCH_WRITES_FILE": pairs_file,
                "BENCH_SESSIONS_FILE": write_lines(self.folder, "warmup.txt", warmup_sessions),
                "BENCH_COOKIE_NAME": self.cookie_name,
                "BENCH_CSRF_SECRET": csrf_secret(),
                "BENCH_HEADLINE": POSTED_HEADLINE,
            },
            writes=True,
        )

    def reviews_created(self):
        """The write run's reviews: the only ones with ids past the last one before it."""
        from reviews.models import Review

        writer_ids = {member.pk for member, _title in self.write_pairs}
        return Review.objects.filter(pk__gt=self.last_review_before, author_id__in=writer_ids)

    def clean_up(self):
        """Delete the write run's reviews through the service that keeps the counts, so the
        next run finds the same data; and the sessions."""
        from reviews import services

        removed = 0
        if self.write_pairs:
            for review in self.reviews_created():
                services.review_delete(review=review)
                removed += 1
            print(f"Deleted the {removed} reviews the write run created.", flush=True)
        delete_sessions(self.session_keys.values())


def run_load(server, memory, endpoints, signed_in, args):
    """Every endpoint measured in turn, then /healthz again; failures found on the way."""
    from django.db import connections

    failures = []
    for endpoint in endpoints:
        if endpoint.signed_in:
            member = signed_in.sample_member
            cookie = f"{signed_in.cookie_name}={signed_in.session_keys[member.pk]}"
            preflight(server, endpoint, member.username, cookie)
        elif not endpoint.writes:
            preflight(server, endpoint)
    measurements = []
    for endpoint in endpoints:
        measurements.append(measure(server, memory, endpoint, args))
    measurements.append(measure(server, memory, Endpoint("/healthz again", "/healthz"), args))
    for measured in measurements:
        distinct = measured.endpoint.distinct_requests
        if distinct and measured.result["requests"] > distinct:
            failures.append(
                f"{measured.endpoint.name}: {measured.result['requests']} requests for "
                f"{distinct} members, so some were not first visits: raise --first-visits"
            )
        if measured.endpoint.writes:
            # Counted after the last measurement, when the posts still in flight as wrk
            # stopped have landed. wrk counts only the answers it waited for, so the edits
            # (its posts minus the creates) are a lower bound.
            posts = measured.result["requests"]
            created = signed_in.reviews_created().count()
            connections.close_all()
            measured.note = f"{created} created, {posts - created} edited"
            if created <= 0 or posts - created <= 0:
                failures.append(f"the write run must both create and edit: {measured.note}")
    return measurements, failures


def check_aggregates():
    print("Checking every title's stored aggregates against a recount...", flush=True)
    mismatches = aggregate_mismatches()
    for mismatch in mismatches:
        print(f"  MISMATCH {mismatch}")
    print("  all titles match" if not mismatches else "  MISMATCHES", flush=True)
    return [f"aggregates: {mismatch}" for mismatch in mismatches]


def write_report(vendor, description, rows, notes, mixed=(), uncached=()):
    """The results file: the machine, the mixed-load table first (the headline), the
    per-endpoint table, the uncached server times; each only when it was measured."""
    results_file = PROJECT_ROOT / f"bench-results-{vendor}.md"
    standard = ["#### Each page alone", "", markdown_table(rows), "", *notes, ""] if rows else []
    results_file.write_text(
        "\n".join(
            [
                f"### Benchmark on {vendor}, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
                "",
                "| | |",
                "|---|---|",
                *(f"| {label} | {value} |" for label, value in description),
                "",
                *mixed,
                *standard,
                *uncached,
            ]
        )
    )
    print(f"Written to {results_file.name}.")


# --- The soak ------------------------------------------------------------------------------

# A thread's n-th request is of the n-th kind here, round and round: 14 reads to 6 writes.
# The reads are the pages visitors land on; the writes, what members do most.
SOAK_MIX = (
    "home", "all-in", "signed-in", "review", "detail",
    "all-in", "vote", "deep", "signed-in", "comment",
    "home", "all-in", "search", "review", "person",
    "signed-in", "vote", "detail", "feed", "comment",
)  # fmt: skip
SOAK_WRITE_KINDS = ("review", "vote", "comment")
# The write lines are sized for this many requests a second, several times what the mix
# reaches here (each write makes every cached page stale), so they do not run out; a run
# whose lines did run out fails and says so.
SOAK_CEILING_RPS = 1000
# What one member sends at most, far inside settings.RATE_LIMITS (review 30/h, comment 60/h,
# vote 300/h): the soak shows the site under load from many members, not the limiter.
SOAK_EDITS_PER_REVIEW = 3  # 1 create + 3 edits: 4 review posts
SOAK_MARKS_PER_VOTER = 10  # 10 reviews, each marked and later unmarked: 20 votes
SOAK_COMMENTS_PER_MEMBER = 5
SOAK_POSTS_PER_MEMBER = {
    "review": 1 + SOAK_EDITS_PER_REVIEW,
    "vote": 2 * SOAK_MARKS_PER_VOTER,
    "comment": SOAK_COMMENTS_PER_MEMBER,
}
# A thread takes a mark back this many of its votes after making it.
SOAK_VOTE_LAG = 8
# Reviews members read, mark and comment on: All In's most helpful page, then a spread.
SOAK_SPREAD_TARGETS = 400
SOAK_DETAIL_PAGES = 40


def chunked(items, size):
    items = list(items)
    for start in range(0, len(items), size):
        yield items[start : start + size]


def soak_needs(duration):
    """kind: (members, lines) the writes need at SOAK_CEILING_RPS for `duration` seconds."""
    needs = {}
    for kind in SOAK_WRITE_KINDS:
        posts = math.ceil(SOAK_CEILING_RPS * duration * SOAK_MIX.count(kind) / len(SOAK_MIX))
        if kind == "review":
            lines = math.ceil(posts / 2)  # creates alternate with edits
            needs[kind] = (lines, lines)
        elif kind == "vote":
            lines = math.ceil(posts / 2)  # each line is marked, then unmarked
            needs[kind] = (math.ceil(lines / SOAK_MARKS_PER_VOTER), lines)
        else:
            needs[kind] = (math.ceil(posts / SOAK_COMMENTS_PER_MEMBER), posts)
    return needs


def rate_limit_room(member_ids, name):
    """{member id: posts the member may still send to `name`'s views in this window}, and
    the limit (inf when RATELIMIT_ENABLE is off).

    Read-only: django-ratelimit's get_usage(increment=False) would add a zero counter for
    every member asked about. So this builds the keys stepup_site.ratelimits counts under
    (group "stepup:<name>", key user_or_ip: the member's id, POSTs only) and reads them.
    """
    from django.conf import settings
    from django.core.cache import caches
    from django_ratelimit.core import _get_window, _make_cache_key, _split_rate

    if not settings.RATELIMIT_ENABLE:
        return dict.fromkeys(member_ids, math.inf), math.inf
    rate = settings.RATE_LIMITS[name]
    limit, period = _split_rate(rate)
    keys = {}
    for pk in member_ids:
        value = str(pk)
        window = _get_window(value, period)
        keys[_make_cache_key(f"stepup:{name}", window, rate, value, ["POST"])] = pk
    used = caches[settings.RATELIMIT_USE_CACHE].get_many(list(keys))
    return {pk: limit - int(used.get(key, 0)) for key, pk in keys.items()}, limit


def soak_writers(needs, readers):
    """kind: [(member, title)] for each write kind (title: one the member has not reviewed,
    for "review"; None otherwise). Members in pk order, never in two kinds nor among the
    readers, each with room left under its rate limit for what the soak may send (an
    earlier run within the hour used some); also {reason: members skipped}."""
    from films.models import Title
    from reviews.models import Review

    titles = list(Title.objects.order_by("pk"))
    chosen = {kind: [] for kind in needs}
    skipped = {"no room under the rate limit": 0, "has reviewed every title": 0}
    after = 0
    for kind, wanted in needs.items():
        while len(chosen[kind]) < wanted:
            chunk = list(
                bench_members().filter(pk__gt=after).exclude(pk__in=readers).order_by("pk")[:2000]
            )
            if not chunk:
                raise SystemExit(
                    f"Not enough bench members for the soak's {kind} writes: found "
                    f"{len(chosen[kind])} of {wanted} (generate more --users, or a shorter "
                    f"--duration)."
                )
            room, _limit = rate_limit_room([member.pk for member in chunk], kind)
            reviewed = {}
            if kind == "review":
                ids = [member.pk for member in chunk]
                for author, title in Review.objects.filter(author__in=ids).values_list(
                    "author_id", "title_id"
                ):
                    reviewed.setdefault(author, set()).add(title)
            for member in chunk:
                if len(chosen[kind]) == wanted:
                    break
                after = member.pk
                if room[member.pk] < SOAK_POSTS_PER_MEMBER[kind]:
                    skipped["no room under the rate limit"] += 1
                    continue
                title = None
                if kind == "review":
                    # Titles in turn: the creates land on every title, not all on one row.
                    start = len(chosen[kind])
                    rotation = (titles[(start + step) % len(titles)] for step in range(len(titles)))
                    title = next(
                        (t for t in rotation if t.pk not in reviewed.get(member.pk, ())), None
                    )
                    if title is None:
                        skipped["has reviewed every title"] += 1
                        continue
                chosen[kind].append((member, title))
    return chosen, skipped


def soak_targets(title, count):
    """[(review id, author id)] of published reviews with text: All In's most helpful page
    (where readers land and mark), then about `count` spread over every title's reviews."""
    from django.db.models import Max, Min

    from reviews.models import Review

    published = Review.objects.published().with_text()
    targets = list(
        published.filter(title=title)
        .order_by("-helpful_count", "-created_at", "-pk")
        .values_list("pk", "author_id")[:20]
    )
    seen = {pk for pk, _author in targets}
    bounds = Review.objects.aggregate(low=Min("pk"), high=Max("pk"))
    step = max(1, (bounds["high"] - bounds["low"]) // count)
    for start in range(bounds["low"], bounds["high"] + 1, step):
        found = published.filter(pk__gte=start).order_by("pk").values_list("pk", "author_id")
        found = found.first()
        if found is not None and found[0] not in seen:
            targets.append(found)
            seen.add(found[0])
    return targets


def existing_marks(voters, target_ids):
    from reviews.models import HelpfulVote

    marks = set()
    for chunk in chunked(sorted(member.pk for member in voters), 500):
        marks.update(
            HelpfulVote.objects.filter(voter_id__in=chunk, review_id__in=target_ids).values_list(
                "voter_id", "review_id"
            )
        )
    return marks


def soak_lines(members, targets, per_member, excluded=frozenset()):
    """[(member, review id)]: each member on `per_member` different reviews not their own
    (nor in `excluded`), ordered round by round so any stretch of the run spreads over every
    member."""
    rounds = [[] for _ in range(per_member)]
    for index, member in enumerate(members):
        picked = 0
        for step in range(len(targets)):
            review_id, author_id = targets[(index * per_member + step) % len(targets)]
            if author_id == member.pk or (member.pk, review_id) in excluded:
                continue
            rounds[picked].append((member, review_id))
            picked += 1
            if picked == per_member:
                break
    return [line for row in rounds for line in row]


@dataclass
class SoakWrites:
    """The helpful marks and comments the soak may make, and taking them away again."""

    vote_lines: list = field(default_factory=list)  # (member, review id)
    comment_lines: list = field(default_factory=list)
    last_comment_before: int = 0

    def comments_created(self):
        from reviews.models import Comment

        return Comment.objects.filter(
            pk__gt=self.last_comment_before, body__startswith=SOAK_COMMENT_TEXT
        )

    def marks_standing(self):
        """The lines whose mark is on now: all the soak's, as no line starts out marked."""
        from reviews.models import HelpfulVote

        lines = {(member.pk, review_id) for member, review_id in self.vote_lines}
        reviews = sorted({review_id for _member, review_id in lines})
        found = set()
        for chunk in chunked(sorted({voter for voter, _review in lines}), 500):
            found.update(
                HelpfulVote.objects.filter(voter_id__in=chunk, review_id__in=reviews).values_list(
                    "voter_id", "review_id"
                )
            )
        return found & lines

    def clean_up(self):
        """Through reviews.services, as members take marks back and delete comments: the
        stored counts come back to what they were."""
        from django.db import transaction

        from reviews import services
        from reviews.models import Review

        voters = {member.pk: member for member, _review in self.vote_lines}
        marks = sorted(self.marks_standing())
        # Each in a transaction of its own whether or not the service opens one: its row
        # locks (select_for_update) need one on PostgreSQL.
        for voter_id, review_id in marks:
            with transaction.atomic():
                services.helpful_vote_toggle(
                    review=Review.objects.get(pk=review_id), voter=voters[voter_id]
                )
        comments = 0
        for comment in self.comments_created().select_related("review"):
            with transaction.atomic():
                services.comment_delete(comment=comment)
            comments += 1
        print(
            f"Took back the {len(marks)} helpful marks still standing and deleted the "
            f"{comments} comments the soak posted.",
            flush=True,
        )


def review_counter_mismatches():
    """Every review's stored helpful and comment counts against a recount, in one query:
    what reviews.services.review_counts_recount counts (every mark; published comments)."""
    from django.db.models import Count, F, OuterRef, Q, Subquery
    from django.db.models.functions import Coalesce

    from reviews.models import Comment, HelpfulVote, Review

    def counted(rows):
        per_review = rows.filter(review=OuterRef("pk")).order_by().values("review")
        return Coalesce(Subquery(per_review.annotate(n=Count("pk")).values("n")), 0)

    wrong = (
        Review.objects.annotate(
            marks_counted=counted(HelpfulVote.objects.all()),
            comments_counted=counted(Comment.objects.published()),
        )
        .filter(~Q(helpful_count=F("marks_counted")) | ~Q(comment_count=F("comments_counted")))
        .values_list("pk", "helpful_count", "marks_counted", "comment_count", "comments_counted")
    )
    return [
        f"review {pk}: helpful_count stored {helpful}, counted {marks}; "
        f"comment_count stored {comments_stored}, counted {comments}"
        for pk, helpful, marks, comments_stored, comments in wrong
    ]


def check_review_counters():
    print("Checking every review's helpful and comment counts against a recount...", flush=True)
    started = time.monotonic()
    mismatches = review_counter_mismatches()
    for mismatch in mismatches[:20]:
        print(f"  MISMATCH {mismatch}")
    print(
        f"  all reviews match ({time.monotonic() - started:.1f} s)"
        if not mismatches
        else f"  {len(mismatches)} MISMATCHES",
        flush=True,
    )
    return [f"review counts: {mismatch}" for mismatch in mismatches]


def stored_counts(target_ids):
    """What a later run should find again: the titles' aggregates, the targets' counts."""
    from films.models import Title
    from reviews.models import Review

    fields = ["rating_count", "rating_sum", "text_review_count"]
    fields += [f"ratings_{value}" for value in range(1, 11)]
    titles = {row[0]: row[1:] for row in Title.objects.values_list("pk", *fields)}
    reviews = {
        row[0]: row[1:]
        for chunk in chunked(target_ids, 500)
        for row in Review.objects.filter(pk__in=chunk).values_list(
            "pk", "helpful_count", "comment_count"
        )
    }
    return titles, reviews


def soak_paths(args, title, targets):
    """[(kind, path)] for the reading kinds; the first is where an exhausted write goes."""
    from django.urls import reverse

    paths = [("home", "/")]
    paths += [("all-in", f"{title.get_absolute_url()}?sort={sort}") for sort in SORTS]
    deep_pages = set()
    for sort in SORTS:
        page, path = deep_page_url(title, sort, args.deep_page)
        deep_pages.add(page)
        paths.append(("deep", path))
    paths.append(("person", director_path(title)))
    paths.append(("search", f"/search/?q={SEARCH_TERM}"))
    paths += [
        ("detail", reverse("reviews:detail", kwargs={"pk": pk}))
        for pk, _author in targets[:SOAK_DETAIL_PAGES]
    ]
    paths.append(("feed", reverse("reviews:rss")))
    paths.append(("signed-in", title.get_absolute_url()))
    return paths, sorted(deep_pages)


def soak_labels(deep_pages, readers, writers, detail_pages):
    pages = ", ".join(str(page) for page in deep_pages)
    return {
        "home": "home /",
        "all-in": "All In page 1, the 4 sorts in turn",
        "deep": f"All In page {pages}, the 4 sorts in turn",
        "person": "person (All In's director)",
        "search": f"search ?q={SEARCH_TERM}",
        "detail": f"a review's page ({detail_pages} in turn)",
        "feed": "RSS feed of the latest reviews",
        "signed-in": f"All In signed in ({readers} members in turn)",
        "review": f"post a review, then edit it ({len(writers['review'])} members, one title "
        f"each, at most {SOAK_POSTS_PER_MEMBER['review']} posts)",
        "vote": f"mark a review helpful or take it back, JSON ({len(writers['vote'])} members, "
        f"at most {SOAK_POSTS_PER_MEMBER['vote']} votes)",
        "comment": f"comment on a review ({len(writers['comment'])} members, at most "
        f"{SOAK_POSTS_PER_MEMBER['comment']} comments)",
    }


def soak_report(result, labels, facts):
    """(text for the terminal, Markdown for the results file)."""
    sent = result["kinds"]
    total_sent = sum(sent.values()) or 1
    errors = (
        f"{result['errors']} (connect {result['connect']}, read {result['read']}, write "
        f"{result['write']}, timeout {result['timeout']}, HTTP 4xx/5xx {result['status']}, "
        f"redirected to sign-in {result['login_redirects']})"
    )
    summary = [
        ("requests answered", f"{result['requests']:,} in {result['duration_s']:.1f} s"),
        ("req/s", f"{result['rps']:.1f}"),
        (
            "latency p50 / p95 / p99 / max",
            f"{result['p50_ms']:.1f} / {result['p95_ms']:.1f} / {result['p99_ms']:.1f} / "
            f"{result['max_ms']:.1f} ms",
        ),
        ("errors", errors),
        *facts,
    ]
    kinds = [
        [
            kind,
            labels[kind],
            f"{sent.get(kind, 0):,}",
            f"{100 * sent.get(kind, 0) / total_sent:.1f}%",
        ]
        for kind in dict.fromkeys(SOAK_MIX)
    ]
    reads = sum(sent.get(kind, 0) for kind in sent if kind not in SOAK_WRITE_KINDS)
    writes = total_sent - reads
    statuses = [[status, f"{count:,}"] for status, count in sorted(result["statuses"].items())]
    outcomes = [
        [outcome, f"{count:,}"]
        for outcome, count in sorted(result["outcomes"].items(), key=lambda item: -item[1])
    ]

    def markdown(headings, rows, right=()):
        align = ["---:" if index in right else "---" for index in range(len(headings))]
        return [
            "| " + " | ".join(headings) + " |",
            "|" + "|".join(align) + "|",
            *(
                "| " + " | ".join(str(cell).replace("|", "\\|") for cell in row) + " |"
                for row in rows
            ),
        ]

    share = 100 * writes / total_sent
    mix = f"Sent, by kind: {reads:,} reads and {writes:,} writes ({share:.0f}% writes)."
    md = [
        *markdown(["", ""], summary),
        "",
        mix,
        "",
        *markdown(["kind", "requests", "sent", "share"], kinds, right=(2, 3)),
        "",
        "Answers by status, and by what they say they are (wrk does not tell which request an "
        "answer is for: the wrk script reads it from the answer):",
        "",
        *markdown(["status", "answers"], statuses, right=(1,)),
        "",
        *markdown(["answer", "count"], outcomes, right=(1,)),
    ]
    text = [f"  {label:<32} {value}" for label, value in summary]
    text += ["", f"  {mix}"]
    text += [
        f"    {kind:<10} {count:>8}  {share:>6}  {label}" for kind, label, count, share in kinds
    ]
    text += ["", "  Statuses: " + ", ".join(f"{status} {count}" for status, count in statuses)]
    text += ["  Answers:  " + ", ".join(f"{outcome} {count}" for outcome, count in outcomes)]
    return "\n".join(text), md


def run_soak(args, env, title, gunicorn_settings, load_before):
    """One wrk run of SOAK_MIX; then the recounts, and what it posted taken away."""
    from django.conf import settings
    from django.db import connection, connections
    from django.db.models import Max

    from reviews.models import Comment, Review

    vendor = connection.vendor
    folder = tempfile.mkdtemp(prefix="stepup-soak-")
    signed_in = SignedInRun(settings.SESSION_COOKIE_NAME, folder)
    soak = SoakWrites()
    server = Gunicorn(env, free_port())
    memory = None
    result = None
    failures = []
    facts = []
    try:
        reading = signed_in.page_endpoint(title, args.signed_in_users)
        readers = set(signed_in.session_keys)
        needs = soak_needs(args.duration)
        writers, skipped = soak_writers({k: members for k, (members, _) in needs.items()}, readers)
        skipped_text = ", ".join(f"{n} {why}" for why, n in skipped.items() if n) or "none"
        print(
            "Soak writers: "
            + ", ".join(f"{len(members)} for {kind}" for kind, members in writers.items())
            + f" (members skipped: {skipped_text}).",
            flush=True,
        )
        targets = soak_targets(title, SOAK_SPREAD_TARGETS)
        target_ids = [pk for pk, _author in targets]
        voters = [member for member, _title in writers["vote"]]
        commenters = [member for member, _title in writers["comment"]]
        soak.vote_lines = soak_lines(
            voters, targets, SOAK_MARKS_PER_VOTER, existing_marks(voters, target_ids)
        )
        soak.comment_lines = soak_lines(commenters, targets, SOAK_COMMENTS_PER_MEMBER)
        signed_in.write_pairs = writers["review"]
        signed_in.sessions_for(
            [member for member, _title in signed_in.write_pairs] + voters + commenters
        )
        keys = signed_in.session_keys
        paths, deep_pages = soak_paths(args, title, targets)
        secret = csrf_secret()
        script_env = {
            "BENCH_MIX_FILE": write_lines(folder, "mix.txt", SOAK_MIX),
            "BENCH_PATHS_FILE": write_lines(folder, "paths.txt", [f"{k} {p}" for k, p in paths]),
            "BENCH_SESSIONS_FILE": reading.script_env["BENCH_SESSIONS_FILE"],
            "BENCH_COOKIE_NAME": signed_in.cookie_name,
            "BENCH_CSRF_SECRET": secret,
            "BENCH_HEADLINE": POSTED_HEADLINE,
            "BENCH_WRITES_FILE": write_lines(
                folder, "writes.txt", [f"{keys[m.pk]} {t.slug}" for m, t in signed_in.write_pairs]
            ),
            "BENCH_EDITS_PER_REVIEW": str(SOAK_EDITS_PER_REVIEW),
            "BENCH_VOTES_FILE": write_lines(
                folder, "votes.txt", [f"{keys[m.pk]} {review}" for m, review in soak.vote_lines]
            ),
            "BENCH_VOTE_LAG": str(SOAK_VOTE_LAG),
            "BENCH_COMMENTS_FILE": write_lines(
                folder, "comments.txt", [f"{keys[m.pk]} {r}" for m, r in soak.comment_lines]
            ),
            "BENCH_COMMENT_TEXT": SOAK_COMMENT_TEXT,
        }
        labels = soak_labels(
            deep_pages, len(readers), writers, min(len(targets), SOAK_DETAIL_PAGES)
        )
        before = stored_counts(target_ids)
        signed_in.last_review_before = Review.objects.aggregate(last=Max("pk"))["last"] or 0
        soak.last_comment_before = Comment.objects.aggregate(last=Max("pk"))["last"] or 0
        connections.close_all()

        server.start()
        memory = WorkerMemory(server.process.pid, server.port)
        memory.start()
        # Every page once, and each kind of member once, before the load: a page that fails
        # or a session that does not sign in would otherwise pass for fast and fine.
        for kind, path in paths:
            if kind != "signed-in":
                preflight(server, Endpoint(kind, path))
        reviewer, reviewed_title = signed_in.write_pairs[0]
        for kind, member, path in [
            ("signed-in", signed_in.sample_member, title.get_absolute_url()),
            ("review", reviewer, reviewed_title.get_absolute_url()),
            ("vote", voters[0], title.get_absolute_url()),
            ("comment", commenters[0], title.get_absolute_url()),
        ]:
            cookie = f"{signed_in.cookie_name}={keys[member.pk]}"
            preflight(server, Endpoint(kind, path), member.username, cookie)
        print(
            f"gunicorn {gunicorn_settings['worker_class']}, {gunicorn_settings['workers']} "
            f"workers x {gunicorn_settings['threads']} threads at {server.base_url}; soak: "
            f"{args.duration} s, {args.connections} connections, "
            f"{len(SOAK_MIX) - sum(SOAK_MIX.count(k) for k in SOAK_WRITE_KINDS)} reads to "
            f"{sum(SOAK_MIX.count(k) for k in SOAK_WRITE_KINDS)} writes in {len(SOAK_MIX)}...",
            flush=True,
        )
        result = run_wrk(server.base_url + "/", args.duration, args, script_env)
        memory.sample()
    finally:
        if memory is not None:
            memory.stop()
        server.stop()
        load_after = os.getloadavg()[0]
        try:
            if result is not None:
                # Counted once gunicorn has stopped: the posts in flight as wrk stopped have
                # landed, so the database holds everything the run did.
                created = signed_in.reviews_created().count()
                comments = soak.comments_created().count()
                standing = len(soak.marks_standing())
                failures += check_aggregates()
                failures += check_review_counters()
        finally:
            # Whatever happened above: a later run must find the data as this one did.
            soak.clean_up()
            signed_in.clean_up()
            shutil.rmtree(folder, ignore_errors=True)
    connections.close_all()

    if result["errors"]:
        failures.append(f"{result['errors']} requests failed")
    for kind, count in result["exhausted"].items():
        failures.append(
            f"the {kind} lines ran out {count} times: raise SOAK_CEILING_RPS ({SOAK_CEILING_RPS})"
        )
    outcomes = result["outcomes"]
    saved = outcomes.get("review saved", 0)
    for name, count in [
        ("reviews created", created),
        ("reviews edited", saved - created),
        ("comments posted", comments),
        ("helpful marks made", outcomes.get("helpful mark on", 0)),
        ("helpful marks taken back", outcomes.get("helpful mark off", 0)),
    ]:
        if count <= 0:
            failures.append(f"the soak must have {name}: {count}")
    after = stored_counts(before[1])
    if after != before:
        changed = [
            f"{kind} {pk}"
            for kind, old, new in (("title", before[0], after[0]), ("review", before[1], after[1]))
            for pk in old
            if old[pk] != new.get(pk)
        ]
        failures.append(f"the clean-up left stored counts changed: {', '.join(changed[:20])}")
    peaks = memory.peak_by_worker
    failures += [
        f"worker {pid} reached {peak:.0f} MB RSS (limit {RSS_LIMIT_MB} MB)"
        for pid, peak in sorted(peaks.items())
        if peak > RSS_LIMIT_MB
    ]

    aggregates_ok = not any(f.startswith("aggregates") for f in failures)
    counters_ok = not any(f.startswith("review counts") for f in failures)
    facts += [
        (
            "written (database)",
            f"{created:,} reviews created and at least {saved - created:,} edits; "
            f"{comments:,} comments; {outcomes.get('helpful mark on', 0):,} helpful marks made "
            f"and {outcomes.get('helpful mark off', 0):,} taken back ({standing} left standing)",
        ),
        (
            "peak RSS per worker",
            ", ".join(
                f"{peak:.0f} MB ({memory.anon_peak_by_worker.get(pid, 0):.0f} heap)"
                for pid, peak in sorted(peaks.items())
            )
            + f" (limit {RSS_LIMIT_MB} MB)",
        ),
        (
            "titles' rating aggregates",
            "match a recount" if aggregates_ok else "DO NOT match a recount",
        ),
        (
            "reviews' helpful and comment counts",
            "all match a recount" if counters_ok else "DO NOT all match a recount",
        ),
        (
            "after the clean-up",
            "titles and the reviews written to have their counts from before the run"
            if after == before
            else "COUNTS CHANGED",
        ),
    ]
    text, markdown_lines = soak_report(result, labels, facts)
    print()
    print(text)
    description = machine_description(env, gunicorn_settings, args, load_before)
    description += [
        ("Load after the run", f"{load_after:.2f} (1-minute load average)"),
        (
            "Rate limits",
            ", ".join(f"{k} {settings.RATE_LIMITS[k]}" for k in SOAK_WRITE_KINDS)
            + " per member, "
            + ("enforced" if settings.RATELIMIT_ENABLE else "OFF (RATELIMIT_ENABLE=0)")
            + "; the soak sends at most "
            + ", ".join(f"{SOAK_POSTS_PER_MEMBER[k]} {k}" for k in SOAK_WRITE_KINDS)
            + " posts per member",
        ),
    ]
    results_file = PROJECT_ROOT / f"bench-results-soak-{vendor}.md"
    results_file.write_text(
        "\n".join(
            [
                f"### Soak on {vendor}, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
                "",
                "| | |",
                "|---|---|",
                *(f"| {label} | {value} |" for label, value in description),
                "",
                *markdown_lines,
                "",
            ]
        )
    )
    print(f"Written to {results_file.name}.")
    if failures:
        print("\nFAILED:\n" + "\n".join(f"  - {failure}" for failure in failures))
        print(f"\nLast lines of {GUNICORN_LOG.name}:\n{server.log_tail()}")
        return 1
    return 0


def main(argv=None):
    args = parse_args(argv)
    # A CI timeout or `kill` stops the run like Ctrl-C does: through the finally blocks that
    # stop gunicorn and take the run's reviews and sessions away again.
    signal.signal(signal.SIGTERM, lambda _signal, _frame: sys.exit(128 + signal.SIGTERM))
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: `make bench` installs Debian's wrk when run as root.")
    load_before = os.getloadavg()[0]
    if load_before > 0.5 * (os.cpu_count() or 1):
        # wrk, gunicorn and the database share these cores with whatever else runs.
        print(
            f"!!! The machine is busy (load average {load_before:.1f} on "
            f"{os.cpu_count()} cores): the numbers will be low and noisy.",
            flush=True,
        )
    only = [part.strip() for part in args.only.split(",") if part.strip()]
    chosen = {group for group in GROUPS if not only or any(part in group for part in only)}
    env = bench_environment(args)
    setup_django(env)
    prepare_data(args, env)
    manage(env, "collectstatic", "--noinput", "-v", "0")

    from django.db import connection, connections

    vendor = connection.vendor
    title = all_in_title()
    if args.soak:
        # Read with this run's GUNICORN_* environment: what gunicorn will use, for the report.
        return run_soak(args, env, title, runpy.run_path(str(GUNICORN_CONF)), load_before)
    # Read with this run's GUNICORN_* environment: what gunicorn will use, for the report.
    gunicorn_settings = runpy.run_path(str(GUNICORN_CONF))
    failures = []
    mixed_text, mixed_markdown = "", []
    if "mixed" in chosen:
        from bench import mixed as bench_mixed

        mixed_text, mixed_markdown, mixed_failures = bench_mixed.run_section(
            args, env, title, gunicorn_settings
        )
        failures += mixed_failures
    measurements, notes, server = [], [], None
    if chosen & set(STANDARD_GROUPS):
        measurements, notes, server, standard_failures = run_standard(
            args, env, title, chosen, gunicorn_settings
        )
        failures += standard_failures
    uncached_text, uncached_markdown = "", []
    if "uncached" in chosen:
        from tools import render_times

        uncached_text, uncached_markdown = render_times.run_for_bench(env, args.renders)

    rows = table_rows(measurements)
    if mixed_text:
        print(mixed_text)
    if rows:
        print()
        print(text_table(rows))
        print("\n".join(["", *notes]))
    if uncached_text:
        print(uncached_text)
    write_report(
        vendor,
        machine_description(env, gunicorn_settings, args, load_before),
        rows,
        notes,
        mixed=mixed_markdown,
        uncached=uncached_markdown,
    )
    connections.close_all()
    if failures:
        print("\nFAILED:\n" + "\n".join(f"  - {failure}" for failure in failures))
        if server is not None:
            print(f"\nLast lines of {GUNICORN_LOG.name}:\n{server.log_tail()}")
        return 1
    return 0


def run_standard(args, env, title, chosen, gunicorn_settings):
    """Each chosen page alone under wrk: (measurements, notes, server, failures)."""
    from django.conf import settings
    from django.db import connections

    endpoints, deep_note = read_endpoints(args, title, chosen)
    signed_in = SignedInRun(settings.SESSION_COOKIE_NAME, tempfile.mkdtemp(prefix="stepup-bench-"))
    server = Gunicorn(env, free_port())
    memory = None
    measurements = []
    failures = []
    try:
        if "signed-in" in chosen:
            endpoints.append(
                signed_in.page_endpoint(
                    title, args.signed_in_users, warmup_seconds=args.signed_in_warmup
                )
            )
            if args.first_visits:
                endpoints.append(
                    signed_in.first_visits_endpoint(
                        title, args.first_visits, after=args.signed_in_users
                    )
                )
        if "write" in chosen:
            endpoints.append(signed_in.write_endpoint())
        connections.close_all()
        server.start()
        memory = WorkerMemory(server.process.pid, server.port)
        memory.start()
        print(
            f"gunicorn {gunicorn_settings['worker_class']}, {gunicorn_settings['workers']} "
            f"workers x {gunicorn_settings['threads']} threads at {server.base_url}; "
            f"{args.duration} s per endpoint:",
            flush=True,
        )
        measurements, failures = run_load(server, memory, endpoints, signed_in, args)
    finally:
        if memory is not None:
            memory.stop()
        server.stop()
        if signed_in.write_pairs:
            failures += check_aggregates()
        signed_in.clean_up()
        shutil.rmtree(signed_in.folder, ignore_errors=True)

    failures += [
        f"{measured.endpoint.name}: {measured.result['errors']} errors"
        for measured in measurements
        if measured.result["errors"]
    ]
    peaks = memory.peak_by_worker
    failures += [
        f"worker {pid} reached {peak:.0f} MB RSS (limit {RSS_LIMIT_MB} MB)"
        for pid, peak in sorted(peaks.items())
        if peak > RSS_LIMIT_MB
    ]
    worker_peaks = ", ".join(
        f"{peak:.0f} ({memory.anon_peak_by_worker.get(pid, 0):.0f} heap)"
        for pid, peak in sorted(peaks.items())
    )
    notes = [
        f"Peak RSS per gunicorn worker over the whole run, MB: {worker_peaks} "
        f"(limit {RSS_LIMIT_MB} MB on the RSS; heap: RssAnon, without mapped files)."
    ]
    if deep_note:
        notes.append(f"Note: {deep_note}.")
    if signed_in.write_pairs:
        matched = not any(failure.startswith("aggregates") for failure in failures)
        notes.append(
            "Write run: every title's stored rating aggregates "
            + ("match a recount of its reviews." if matched else "DO NOT match a recount.")
        )
    return measurements, notes, server, failures
