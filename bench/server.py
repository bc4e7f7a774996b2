"""Serving the site as production does, for a run: the run's environment, gunicorn in a
process group of its own, and its workers' memory and connections while the load runs."""

import os
import re
import secrets
import signal
import socket
import string
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
GUNICORN_CONF = PROJECT_ROOT / "stepup_site" / "gunicorn.conf.py"
SQLITE_FILE = PROJECT_ROOT / "bench.sqlite3"
GUNICORN_LOG = PROJECT_ROOT / "bench-gunicorn.log"

# What the caller set, before this run adds the production environment to it.
CALLER_ENVIRONMENT = dict(os.environ)
RSS_LIMIT_MB = 150
RSS_SAMPLE_SECONDS = 0.5


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


def setup_django(env):
    os.environ.update(env)
    import django

    django.setup()


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


def over_rss_limit(peaks):
    """A failure for each worker whose peak RSS ({pid: MB}) went past RSS_LIMIT_MB."""
    return [
        f"worker {pid} reached {peak:.0f} MB RSS (limit {RSS_LIMIT_MB} MB)"
        for pid, peak in sorted(peaks.items())
        if peak > RSS_LIMIT_MB
    ]


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
