"""Gunicorn settings for serving the site in production:

    gunicorn stepup_site.wsgi -c stepup_site/gunicorn.conf.py

Each setting can be changed from the environment without editing this file:

    GUNICORN_BIND      where to listen (default 127.0.0.1:8000: behind the TLS proxy the
                       settings assume; a container sets 0.0.0.0:8000)
    GUNICORN_WORKERS   worker processes (default: one per CPU core)
    GUNICORN_THREADS   threads per worker (default 4; 1 gives classic sync workers)
    GUNICORN_TIMEOUT   seconds a request may take before its worker is restarted (default 30)
    GUNICORN_MAX_REQUESTS  requests before a worker is recycled (default 5000; 0: never)
    GUNICORN_ACCESS_LOG  "-" for stdout, or a file; off by default (the proxy logs requests)
    GUNICORN_CONTROL_SOCKET  gunicornc's socket path, or "off" (default: gunicorn's own)

BEHIND_PROXY and TRUSTED_PROXIES are read as the Django settings read them: gunicorn believes
X-Forwarded-Proto only from those proxies, and no forwarded header at all without one.

Worker choice: gthread, one worker per core, 4 threads each. Measured with `make bench`
(`--only healthz --duration 10`, wrk -t2 -c16 keep-alive connections, SQLite) on the 2-core
development machine, two interleaved rounds, requests/s:

    sync     5 workers (2 x cores + 1)     545, 470
    sync     2 workers                     526, 620
    gthread  2 workers x 4 threads       1471, 1632    <- chosen
    gthread  2 workers x 8 threads       1682, 1710
    gthread  4 workers x 4 threads       1548, 1268

(The machine was shared with other jobs, load average 5 to 11: compare the rows with each
other, not with another machine.) Sync workers cannot keep a connection open, so every
request pays a new TCP connection, and a slow client holds a whole process; gthread keeps
keep-alive connections (what browsers, a proxy's upstream pool and wrk all use) and lets a
worker wait on the database or Redis on one thread while another renders. 8 threads were no
faster than 4 within the noise, and more processes only cost memory: each worker holds its
own copy of Django, the templates and a database pool (gunicorn workers x
DATABASE_POOL_MAX_SIZE must stay under PostgreSQL's max_connections).
"""

import ipaddress
import os

import environ

_env = environ.Env()

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
# The cores this process may run on (a container or taskset may allow fewer than the host has).
workers = int(os.environ.get("GUNICORN_WORKERS") or len(os.sched_getaffinity(0)))
threads = int(os.environ.get("GUNICORN_THREADS") or 4)
# gthread when threads > 1 (GUNICORN_THREADS=1 is sync), in a subclass that spreads new
# connections over the workers instead of letting the first to wake take them all
# (stepup_site/gunicorn_worker.py).
worker_class = "stepup_site.gunicorn_worker.BalancedThreadWorker" if threads > 1 else "sync"

timeout = int(os.environ.get("GUNICORN_TIMEOUT") or 30)
graceful_timeout = 30
# A little longer than gunicorn's 2 s: a proxy or browser reuses its connection across the
# few seconds between page views instead of opening a new one.
keepalive = 5

# Recycle each worker after a few thousand requests (jittered, so they do not all restart at
# once): a slow leak in any library then never grows a worker past its memory budget.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS") or 5000)
max_requests_jitter = max_requests // 10

# The heartbeat file on tmpfs: on a disk-backed /tmp a slow disk can make the master
# think a busy worker hung.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None

# gunicornc's control socket. Its default path is one per user, so several servers on one
# machine (a benchmark, the multi-server test) would take it from each other: they set
# GUNICORN_CONTROL_SOCKET=off, or a path of their own.
control_socket_setting = os.environ.get("GUNICORN_CONTROL_SOCKET")
if control_socket_setting == "off":
    control_socket_disable = True
elif control_socket_setting:
    control_socket = control_socket_setting

# Which peers may say the client spoke HTTPS (gunicorn's default believes 127.0.0.1 and ::1
# whatever is in front, and three headers): the same as Django (core.security), so
# the two never disagree on whether a request is secure.
if _env.bool("BEHIND_PROXY", default=False):
    forwarded_allow_ips = ",".join(
        str(ipaddress.ip_network(network, strict=False))
        for network in _env.list("TRUSTED_PROXIES", default=["127.0.0.1", "::1"])
    )
    # Only the header the proxy sets; X-Forwarded-Ssl and the like pass through it from
    # the client untouched.
    secure_scheme_headers = {"X-FORWARDED-PROTO": "https"}
else:
    forwarded_allow_ips = ""  # gunicorn reads a comma-separated string; empty: nobody
    secure_scheme_headers = {}

accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
