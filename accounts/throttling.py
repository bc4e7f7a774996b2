"""Sign-in throttling (django-axes), so that nobody can keep an owner out of their account.

Failures are counted for the account from one client address, and for the address
whatever the accounts; each has its own limit. An attacker elsewhere only pauses
themselves: the owner, from their own address, still signs in.
"""

import math

from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_cool_off, get_lockout_parameters
from django.conf import settings
from django.db.models import Sum
from django.utils import timezone


def _limit(parameters):
    """The failures allowed for one group of lockout parameters."""
    if parameters == "ip_address":
        return settings.LOGIN_ADDRESS_FAILURE_LIMIT
    return settings.AXES_FAILURE_LIMIT


class SignInThrottle(AxesDatabaseHandler):
    """axes' database handler, with a limit per group of lockout parameters.

    axes compares a single count with AXES_FAILURE_LIMIT; get_failures gives it the
    fullest group on that scale (a group at its own limit reads as AXES_FAILURE_LIMIT).
    """

    def _groups(self, request, credentials):
        """(recent attempts, limit) for each group of lockout parameters."""
        limits = [_limit(parameters) for parameters in get_lockout_parameters(request, credentials)]
        return zip(self.get_user_attempts(request, credentials), limits, strict=True)

    def get_failures(self, request, credentials=None):
        scale = settings.AXES_FAILURE_LIMIT
        return max(
            (attempts.aggregate(total=Sum("failures_since_start"))["total"] or 0) * scale // limit
            for attempts, limit in self._groups(request, credentials)
        )

    def seconds_left(self, request, credentials=None):
        """How long the pause on this sign-in lasts from now, or None if there is none.

        A group is paused while its recent failures reach its limit; each row of failures
        counts until its last failure is a cool-off old, so the pause ends when the rows
        that bring the count to the limit, newest first, stop counting.
        """
        cool_off = get_cool_off(request)
        ends = []
        for attempts, limit in self._groups(request, credentials):
            counted = 0
            rows = attempts.order_by("-attempt_time").values_list(
                "failures_since_start", "attempt_time"
            )
            for failures, attempt_time in rows:
                counted += failures
                if counted >= limit:
                    ends.append(attempt_time + cool_off)
                    break
        if not ends:
            return None
        return max(1, math.ceil((max(ends) - timezone.now()).total_seconds()))
