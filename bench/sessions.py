"""Bench members signed in for a run: their sessions and CSRF cookies, the signed-in and
write endpoints built on them, the (member, title) pairs the write run posts with, and
what the rate limits leave each member."""

import math
import secrets
import string
from dataclasses import dataclass, field

from bench.load import Endpoint, write_lines

# Every review the write run posts has a headline starting so (the wrk script writes it).
POSTED_HEADLINE = "Bench run take"

# Reviews the write run may create, at most: enough for a few minutes of posting, and the
# runner deletes them all again afterwards.
WRITE_PAIRS_MAX = 6000
WRITE_USERS_PER_TITLE = 1000


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


def csrf_secret():
    """A CSRF cookie as a browser holds it: 32 letters and digits."""
    return "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(32))


def bench_members():
    """Bench members who can sign in: active, never suspended."""
    from bench.members import bench_users

    return bench_users().filter(is_active=True, suspended_at__isnull=True)


def rate_limit_room(member_ids, name):
    """{member id: posts the member may still send to `name`'s views in this window}, and
    the limit (inf when RATELIMIT_ENABLE is off).

    Read-only: django-ratelimit's get_usage(increment=False) would add a zero counter for
    every member asked about. So this builds the keys core.ratelimits counts under
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
