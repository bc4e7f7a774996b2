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
from collections import Counter

from django.conf import settings

from tests.servers import production_environment, site_served

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


def open_at_once(port, count):
    """`count` keep-alive connections, each opened and used at the same moment."""
    start = threading.Barrier(count)
    connections = [http.client.HTTPConnection("127.0.0.1", port, timeout=20) for _ in range(count)]

    def use(connection):
        start.wait()
        connection.request("GET", "/healthz")
        response = connection.getresponse()
        response.read()
        assert response.status == 200

    threads = [threading.Thread(target=use, args=(c,)) for c in connections]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return connections


def test_connections_opened_together_are_spread_over_the_workers(tmp_path):
    env = production_environment(
        {"DATABASE_URL": f"sqlite:///{tmp_path / 'serving.sqlite3'}", "REDIS_URL": ""},
        settings.STATIC_ROOT,
        tmp_path / "media",
    )
    env.update(GUNICORN_WORKERS="2", GUNICORN_THREADS="4")
    with site_served(env, tmp_path, "serving") as server:
        assert "BalancedThreadWorker" in server.log()
        splits = []
        for _ in range(ROUNDS):
            connections = open_at_once(server.port, CONNECTIONS)
            split = connections_by_worker(server.port)
            for connection in connections:
                connection.close()
            splits.append(sorted(split.values(), reverse=True))
            assert sum(split.values()) == CONNECTIONS, split
        # Each worker holds at least a quarter of them, every time (8/8 is the even split).
        assert all(len(split) == 2 and split[1] >= CONNECTIONS // 4 for split in splits), splits
