"""gunicorn's gthread worker, with new connections spread over the workers.

Every worker waits on the one listening socket, and whichever calls accept() first gets a
new connection, which then stays with that worker for as long as it is kept alive. When
clients open several connections at once (a proxy's upstream pool, a browser, wrk), one
worker often takes them all: measured with 16 keep-alive connections and 2 workers, 16/0
splits were common, and such a run serves at half the rate, since one worker is one core's
worth of Python. Here a worker whose threads are all busy with a request, or which holds
twice as many connections as it has threads, waits a few milliseconds before accepting
another, so a less busy worker can take it first. If none does, it accepts it anyway:
nothing is refused or left waiting for long. A worker with free threads and few
connections never waits, so idle keep-alive connections (browsers keep some) cost nothing.
"""

import time

from gunicorn.workers.gthread import ThreadWorker

# Long enough for another worker woken by the same connection to accept it first; short
# enough not to matter to the requests this worker is already serving on its threads.
HOLD_BACK_SECONDS = 0.005


class BalancedThreadWorker(ThreadWorker):
    def accept(self, listener):
        threads = self.cfg.threads
        if self.busy_connections() >= threads or self.nr_conns >= 2 * threads:
            time.sleep(HOLD_BACK_SECONDS)
        super().accept(listener)

    def busy_connections(self):
        # nr_conns counts every open connection; those waiting for a next request (kept
        # alive) or for a first one (pending) hold no thread.
        return self.nr_conns - len(self.keepalived_conns) - len(self.pending_conns)
