"""gunicorn's gthread worker, with new connections spread over the workers.

Every worker waits on the one listening socket, and whichever calls accept() first gets a
new connection, which then stays with that worker for as long as it is kept alive. When
clients open several connections at once (a proxy's upstream pool, a browser, wrk), one
worker often takes them all: measured with 16 keep-alive connections and 2 workers, 16/0
splits were common, and such a run serves at half the rate, since one worker is one core's
worth of Python. Here a worker that already holds a connection for each of its threads
waits a few milliseconds before accepting another, so a less busy worker can take it
first. If none does, it accepts it anyway: nothing is refused or left waiting for long.
"""

import time

from gunicorn.workers.gthread import ThreadWorker

# Long enough for another worker woken by the same connection to accept it first; short
# enough not to matter to the requests this worker is already serving on its threads.
HOLD_BACK_SECONDS = 0.005


class BalancedThreadWorker(ThreadWorker):
    def accept(self, listener):
        if self.nr_conns >= self.cfg.threads:
            time.sleep(HOLD_BACK_SECONDS)
        super().accept(listener)
