"""gunicorn as production runs it: new connections are spread over the workers
(stepup_site/gunicorn_worker.py).

A keep-alive connection stays with the worker that accepted it. With gunicorn's own gthread
worker, connections opened together (a proxy's pool, a browser, wrk) often all went to one
worker, which then served them with one core while the other idled.
"""

import http.client
import re
import subprocess
import threading
import time
from collections import Counter

import pytest
from django.conf import settings

from tests.servers import production_environment, site_served

# gunicorn with two workers under a load of keep-alive connections.
pytestmark = pytest.mark.slow

CONNECTIONS = 16
ROUNDS = 5


def connections_by_worker(port):
    listing = subprocess.run(
        ["ss", "-tnpH", "state", "established", f"( sport = :{port} )"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return Counter(re.findall(r"pid=(\d+)", listing))


def split_under_load(port, count):
    """How `count` keep-alive connections, opened at the same moment and each sending
    requests one after another (as wrk or a proxy's pool does), are held by the workers."""
    start, stop = threading.Barrier(count + 1), threading.Event()
    failures = []

    def use():
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
        start.wait()
        try:
            while not stop.is_set():
                connection.request("GET", "/healthz")
                response = connection.getresponse()
                response.read()
                if response.status != 200:
                    failures.append(response.status)
        finally:
            stop.wait()
            connection.close()

    threads = [threading.Thread(target=use) for _ in range(count)]
    for thread in threads:
        thread.start()
    start.wait()
    time.sleep(1)
    split = connections_by_worker(port)
    stop.set()
    for thread in threads:
        thread.join()
    assert not failures
    return split


def test_connections_opened_together_are_spread_over_the_workers(tmp_path):
    env = production_environment(
        {"DATABASE_URL": f"sqlite:///{tmp_path / 'serving.sqlite3'}", "REDIS_URL": ""},
        settings.STATIC_ROOT,
        tmp_path / "media",
    )
    # Never recycled during the test: at a few thousand requests a second a worker would
    # reach its max_requests mid-round, drop its connections and leave them waiting for
    # its successor to boot (seen as a round with one worker and fewer connections).
    env.update(GUNICORN_WORKERS="2", GUNICORN_THREADS="4", GUNICORN_MAX_REQUESTS="0")
    with site_served(env, tmp_path, "serving") as server:
        assert "BalancedThreadWorker" in server.log()
        # Not counted: right after start-up one worker may still be loading the site.
        split_under_load(server.port, CONNECTIONS)
        splits = []
        for _ in range(ROUNDS):
            split = split_under_load(server.port, CONNECTIONS)
            splits.append(sorted(split.values(), reverse=True))
            assert sum(split.values()) == CONNECTIONS, split
        # Each worker holds at least a quarter of them, every time (8/8 is the even split).
        assert all(len(split) == 2 and split[1] >= CONNECTIONS // 4 for split in splits), splits
