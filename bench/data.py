"""Benchmark data: a realistic-size community of generated members with reviews, helpful
votes and comments, written straight to the database (COPY on PostgreSQL, executemany on
SQLite) for load tests and query plans. Used by `manage.py bench_data`.

Nothing here goes through reviews.services: a million service calls would take hours. So
the counts the services keep (each review's helpful and comment counts) are computed here
while generating, and the titles' aggregates are recounted once at the end.
"""

import json
import math
import queue
import random
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime

from django.contrib.auth import get_user_model
from django.core.management.color import no_style
from django.db import connection, models
from django.db.models import Q
from django.utils import timezone

from films.models import Character, Crew, Routine, Title
from films.services import CATALOG_FILE
from reviews.models import (
    COMMENT_MAX_LENGTH,
    REVIEW_BODY_MAX_LENGTH,
    Comment,
    HelpfulVote,
    Review,
    Status,
)
from reviews.services import title_aggregates_recount

BENCH_PREFIX = "bench-"
# Unusable (it starts with "!"), so nobody can sign in as a bench member; and never what a
# real sign-up stores (a hash), so a real member who chose a "bench-" name is never taken
# for bench data and deleted with it.
BENCH_PASSWORD = "!bench-data-no-sign-in"
BENCH_EMAIL_DOMAIN = "bench.example.invalid"

ALL_IN_NAME = "Step Up: All In"

# Members are at least this old, so the rule holding reviews of young accounts
# (REVIEWS_HOLD_ACCOUNTS_YOUNGER_THAN_DAYS, 60 at most in practice) never applies to them.
MIN_ACCOUNT_AGE_DAYS = 61

# Half-star ratings 1..10 as fan sites see them: mostly 3 to 4.5 stars, a bump at five
# stars, a few half-star protest votes. Each title mixes the two shapes in its own
# proportion, so the titles' averages differ.
RATING_WEIGHTS_WARM = (2.0, 1.0, 1.2, 2.0, 3.0, 6.0, 10.0, 17.0, 17.0, 22.0)
RATING_WEIGHTS_COOL = (5.0, 2.5, 3.5, 5.5, 7.0, 11.0, 14.0, 15.0, 10.0, 12.0)

TEXT_SHARE = 0.57  # the rest are rating-only
HEADLINE_SHARE = 0.45  # of text reviews
SPOILER_SHARE = 0.088  # of text reviews: about 5% of all reviews
PENDING_SHARE = 0.005
REMOVED_SHARE = 0.003
EDITED_SHARE = 0.08
# Body lengths: log-normal, median a few hundred characters, tail to the 10,000 limit.
BODY_MEDIAN = 330
BODY_SIGMA = 0.85

# Helpful votes on published text reviews: most get none, the rest a Pareto tail, so a
# few have hundreds. About 1.3 million votes for a million reviews.
VOTELESS_SHARE = 0.6
VOTE_PARETO_ALPHA = 1.05
MAX_VOTES_PER_REVIEW = 1500

COMMENTED_SHARE = 0.085  # of published text reviews
COMMENTS_PER_THREAD_CUMULATIVE = (45, 70, 85, 94, 100)  # 1 to 5 comments
COMMENT_MEDIAN = 110
COMMENT_SIGMA = 0.9
COMMENT_PENDING_SHARE = 0.01
COMMENT_REMOVED_SHARE = 0.005

# How the reviews not on All In spread over the other titles, by franchise position: the
# first film has the biggest audience and each sequel a smaller one; a series smaller still.
SEQUEL_FALLOFF = 0.8
SERIES_WEIGHT = 0.2

CHUNK = 20_000  # reviews generated and written at a time: texts never all in memory

# Plain strings: the enum's attribute lookup shows in a profile over a million reviews.
PUBLISHED, PENDING, REMOVED = (
    Status.PUBLISHED.value,
    Status.PENDING.value,
    Status.REMOVED.value,
)

# --- Texts ----------------------------------------------------------------------------

STYLES = [
    "krump", "popping", "locking", "breaking", "tutting", "waacking", "voguing", "house",
    "contemporary", "ballet", "hip-hop", "street jazz", "tap", "salsa", "b-boying", "robot",
    "flexing", "clowning", "jerkin'", "freestyle", "dancehall", "crumping", "litefeet",
]  # fmt: skip
MOVES = [
    "windmills", "headspins", "freezes", "toprock", "footwork", "isolations", "waves",
    "flares", "airflares", "power moves", "lifts", "body rolls", "six-steps", "kip-ups",
    "knee drops", "slides", "pirouettes", "hits", "glides", "tutting combos", "flips",
    "floor work", "stalls", "backflips", "chair tricks", "wall runs",
]  # fmt: skip
SCENES = [
    "the final battle", "the opening number", "the club battle", "the rain dance",
    "the rooftop routine", "the warehouse battle", "the flash mob", "the audition",
    "the street performance", "the rehearsal montage", "the beach scene", "the museum piece",
    "the last routine", "the first battle", "the training montage", "the duet",
    "the showcase", "the underground battle", "the parking lot scene", "the subway scene",
    "the restaurant flash mob", "the water routine", "the laser number", "the tango",
]  # fmt: skip
ASPECTS = [
    "choreography", "soundtrack", "camera work", "editing", "acting", "script", "plot",
    "dialogue", "pacing", "romance", "lighting", "costumes", "cast", "dancing", "direction",
    "score", "sound mix", "3D", "locations", "ending", "villain", "humour", "friendship story",
]  # fmt: skip
POSITIVE = [
    "incredible", "electric", "jaw-dropping", "tight", "inventive", "joyful", "breathtaking",
    "slick", "fearless", "infectious", "gorgeous", "razor-sharp", "unreal", "iconic",
    "stunning", "clever", "heartfelt", "explosive", "fresh", "flawless", "magnetic",
]  # fmt: skip
NEGATIVE = [
    "flat", "predictable", "clunky", "messy", "cheesy", "forgettable", "tired", "stiff",
    "rushed", "overlong", "clichéd", "lifeless", "choppy", "thin", "awkward", "wooden",
    "repetitive", "dull", "shallow", "generic", "muddled",
]  # fmt: skip
MIDDLING = [
    "uneven", "decent", "fine", "okay", "serviceable", "watchable", "patchy", "solid",
    "hit and miss", "fun enough", "a little uneven", "better than expected",
]  # fmt: skip
COMPANY = [
    "my sister", "my dance crew", "my best friend", "my kids", "my partner", "my flatmates",
    "my students", "the whole family", "my cousins", "my teammates", "nobody, at 2am",
]  # fmt: skip
OCCASIONS = [
    "a rainy Sunday", "a sleepover", "movie night", "a long flight", "my birthday",
    "the night before a competition", "a snow day", "a study break", "New Year's Eve",
]  # fmt: skip
WHEN = [
    "in the cinema on opening night", "on DVD years ago", "on a streaming service last week",
    "at a friend's house", "in 3D and it was worth it", "as a teenager", "on TV by accident",
]  # fmt: skip

POSITIVE_SENTENCES = [
    "{scene} is {pos} and I have rewatched it more times than I can count.",
    "The {aspect} is {pos}, especially during {scene}.",
    "{char} carries every scene with real charm.",
    "Nobody does {style} like {crew}, and the {moves} in {scene} prove it.",
    "{title} is pure fun from start to finish.",
    "The {style} in {routine} gave me chills.",
    "I walked out of the cinema wanting to learn {style}.",
    "Every routine tells a little story, and {routine} is the best of them.",
    "The {moves} alone are worth the ticket.",
    "The way the camera follows the {moves} in {scene} is {pos}.",
    "{char} and {char2} have real chemistry on the dance floor.",
    "It knows exactly what it is and delivers it with a big grin.",
    "The {aspect} surprised me: {pos} in a way I did not expect from a dance film.",
    "I still get goosebumps when the music drops in {scene}.",
    "{crew} deserve a film of their own after this.",
    "Of the whole franchise, {title} is the one I put on when I need cheering up.",
    "The dancers make the hardest {moves} look effortless.",
    "The {aspect} is {pos}, and the {aspect2} is not far behind.",
    "This is the film that made me join a {style} class.",
    "Say what you like about the plot, {scene} is {pos}.",
]
NEGATIVE_SENTENCES = [
    "The {aspect} is {neg} and it drags the whole thing down.",
    "{scene} should have been the highlight, but the editing is {neg}.",
    "I wanted to like {char}, but the writing gives them nothing to do.",
    "Honestly {title} felt {neg} next to the earlier films.",
    "Too much talking between the dances; I skipped ahead more than once.",
    "The {moves} are there, but the camera cuts away every two seconds.",
    "The {aspect} is so {neg} that even {routine} could not save it.",
    "I checked my phone through most of the middle act.",
    "{crew} are wasted on a {neg} story.",
    "The romance is {neg} and the villain is worse.",
    "For a dance film there is surprisingly little {style}.",
    "The {aspect} and the {aspect2} are both {neg}.",
    "I expected more from the people who made the first one.",
    "Even the {moves} felt {neg} this time.",
    "It feels like a long music video with a {neg} script stapled on.",
]
MIDDLING_SENTENCES = [
    "The {aspect} is {mid}, but the dancing makes up for a lot.",
    "Great {style}, {neg} {aspect}.",
    "{scene} is {pos}; the rest is {mid}.",
    "{char} is fun to watch even when the script lets them down.",
    "Not the best of the franchise, not the worst either.",
    "I liked the {moves} more than the story around them.",
    "The second half is much stronger than the first.",
    "{title} is {mid}: come for {routine}, forgive the dialogue.",
    "The {aspect} is {pos} and the {aspect2} is {neg}, which sums it up.",
    "Better on a second watch, when you know to wait for {scene}.",
    "{crew} steal the show whenever they are on screen.",
    "Fun, loud and a little cheesy, which is sort of the point.",
]
NEUTRAL_SENTENCES = [
    "I watched it with {company} on {occasion}.",
    "I first saw {title} {when}.",
    "The {aspect} reminded me a little of {other}.",
    "If you love {style}, you will find something here.",
    "{crew} get more screen time than I expected.",
    "I rewatched it before writing this review.",
    "The {style} and the {style2} styles are mixed in {scene}.",
    "My favourite moment is in {scene}, no contest.",
    "I have watched all the films in order more than once.",
    "{char} is still my favourite character of the franchise.",
    "The soundtrack has been on my playlist for years.",
    "It is worth watching with the sound turned up.",
]
SHORT_BODIES = {
    "positive": ["Loved it!", "Pure joy.", "So good.", "Iconic.", "Rewatch every year.",
                 "The dancing!", "Ten out of ten moves.", "Chills every time."],
    "middling": ["It's fine.", "Good dancing, meh story.", "Watchable.", "Mixed feelings.",
                 "Okay for a Friday night."],
    "negative": ["Not for me.", "Skip it.", "Boring.", "Too cheesy.", "Disappointing."],
}  # fmt: skip
HEADLINES = {
    "positive": [
        "Worth it for {scene}", "{Pos} {aspect}", "{Style} heaven", "Pure joy",
        "The best of the franchise?", "Better on a second watch", "I was on my feet",
        "{Char} steals it", "All the {moves} you could want", "A love letter to {style}",
    ],
    "middling": [
        "Great dancing, {neg} {aspect}", "Come for {scene}", "Fun but {mid}",
        "Not bad, not great", "The dancing carries it", "{Mid}, with one great routine",
    ],
    "negative": [
        "{Neg} and forgettable", "All moves, no story", "Not for me",
        "The {aspect} lets it down", "Skip to {scene}", "Too much talking",
    ],
}  # fmt: skip
COMMENT_SENTENCES = [
    "Completely agree about {scene}.",
    "Fair, but I think the {aspect} works better than people say.",
    "Thanks for this, I am watching it tonight.",
    "The second watch really is better.",
    "The {style} in {scene} is my favourite too.",
    "{char} deserved more screen time.",
    "Did you see the extended version? {scene} is longer there.",
    "I saw it {when} and felt exactly the same.",
    "Hard disagree on the {aspect}, it is {pos}.",
    "You are too kind to the {aspect}, it is {neg}.",
    "This review is why I finally watched it.",
    "{crew} are underrated, glad someone said it.",
    "The {moves} in {routine} still blow my mind.",
    "My {style} teacher showed us {scene} in class.",
]
SHORT_COMMENTS = ["Agreed!", "This.", "So true.", "Ha, same.", "Totally.", "Yes!", "Nope.",
                  "Couldn't agree more.", "Same here.", "100%."]  # fmt: skip
REMOVAL_REASONS = [
    "Abusive language towards another member.",
    "Spam: links to a streaming site.",
    "Unmarked spoilers throughout; the author did not respond to a request to mark them.",
    "Off-topic: about a different film.",
    "Copied from another website.",
    "Personal attack on a cast member.",
]
HOLD_REASONS = ["", "", "Held automatically after 3 reports."]

SENTENCES_PER_POOL = 700


def _sentiment(rating):
    if rating >= 7:
        return "positive"
    if rating <= 4:
        return "negative"
    return "middling"


@dataclass
class _Pool:
    sentences: list
    average_length: float


class TextMaker:
    """Review and comment texts from precomputed sentences: fast, varied, deterministic."""

    def __init__(self, rng, titles, flavour):
        """`flavour` maps a title's pk to its (characters, crews, routines) names."""
        self.rng = rng
        names = [title.name for title in titles]
        self.body_pools = {}
        self.headlines = {}
        self.comment_pools = {}
        for title in titles:
            characters, crews, routines = flavour[title.pk]
            others = [name for name in names if name != title.name] or names
            slots = _Slots(rng, title.name, others, characters, crews, routines)
            neutral = slots.fill_many(NEUTRAL_SENTENCES, SENTENCES_PER_POOL // 3)
            for sentiment, templates in (
                ("positive", POSITIVE_SENTENCES),
                ("middling", MIDDLING_SENTENCES),
                ("negative", NEGATIVE_SENTENCES),
            ):
                sentences = slots.fill_many(templates, SENTENCES_PER_POOL) + neutral
                average = sum(map(len, sentences)) / len(sentences) + 1
                self.body_pools[title.pk, sentiment] = _Pool(sentences, average)
                self.headlines[title.pk, sentiment] = [
                    line[:150] for line in slots.fill_many(HEADLINES[sentiment], 60)
                ]
            sentences = slots.fill_many(COMMENT_SENTENCES, SENTENCES_PER_POOL)
            self.comment_pools[title.pk] = _Pool(
                sentences, sum(map(len, sentences)) / len(sentences) + 1
            )

    def body(self, title_id, rating):
        rng = self.rng
        sentiment = _sentiment(rating)
        length = rng.lognormvariate(math.log(BODY_MEDIAN), BODY_SIGMA)
        if length < 40:
            return rng.choice(SHORT_BODIES[sentiment])
        pool = self.body_pools[title_id, sentiment]
        return _paragraphs(rng, pool, length, REVIEW_BODY_MAX_LENGTH)

    def headline(self, title_id, rating):
        return self.rng.choice(self.headlines[title_id, _sentiment(rating)])

    def comment(self, title_id):
        rng = self.rng
        length = rng.lognormvariate(math.log(COMMENT_MEDIAN), COMMENT_SIGMA)
        if length < 25:
            return rng.choice(SHORT_COMMENTS)
        return _paragraphs(rng, self.comment_pools[title_id], length, COMMENT_MAX_LENGTH)


def _paragraphs(rng, pool, length, limit):
    count = max(1, round(length / pool.average_length))
    sentences = rng.choices(pool.sentences, k=count)
    if count <= 3:
        text = " ".join(sentences)
    else:
        parts = []
        start = 0
        while start < count:
            step = rng.randint(2, 5)
            parts.append(" ".join(sentences[start : start + step]))
            start += step
        text = "\n\n".join(parts)
    if len(text) > limit:
        text = text[: text.rfind(" ", 0, limit)].rstrip() or text[:limit]
    return text


class _Slots:
    """Fills the {placeholders} of the sentence templates with this title's words."""

    def __init__(self, rng, name, others, characters, crews, routines):
        self.rng = rng
        self.name = name
        self.others = others
        self.characters = characters or ["the lead", "the best friend", "the new kid"]
        self.crews = crews or ["the crew", "the home team", "the rival crew"]
        self.routines = routines or ["the finale", "the opening number"]

    def fill(self, template):
        choice = self.rng.choice
        words = {
            "title": self.name,
            "other": choice(self.others),
            "char": choice(self.characters),
            "char2": choice(self.characters),
            "crew": choice(self.crews),
            "routine": choice(self.routines),
            "style": choice(STYLES),
            "style2": choice(STYLES),
            "moves": choice(MOVES),
            "scene": choice(SCENES),
            "aspect": choice(ASPECTS),
            "aspect2": choice(ASPECTS),
            "pos": choice(POSITIVE),
            "neg": choice(NEGATIVE),
            "mid": choice(MIDDLING),
            "company": choice(COMPANY),
            "occasion": choice(OCCASIONS),
            "when": choice(WHEN),
        }
        # Capitalised forms for the start of a headline.
        words.update(
            {key.capitalize(): value[:1].upper() + value[1:] for key, value in words.items()}
        )
        text = template.format(**words)
        return text[:1].upper() + text[1:]

    def fill_many(self, templates, count):
        return [self.fill(self.rng.choice(templates)) for _ in range(count)]


# --- Database -------------------------------------------------------------------------


class _Table:
    """A model's table with the columns written, in order, taken from the model's _meta.

    Fields the generator does not know (one added to the model since) get their default,
    so the loader keeps working, or fails loudly on a NOT NULL field without one.
    """

    def __init__(self, model, names):
        meta = model._meta
        quote = connection.ops.quote_name
        self.name = meta.db_table
        known = [meta.get_field(name) for name in names]
        extra = [field for field in meta.concrete_fields if field.name not in names]
        self.pad = tuple(field.get_default() for field in extra)
        columns = ", ".join(quote(field.column) for field in known + extra)
        self.copy_sql = f"COPY {quote(self.name)} ({columns}) FROM STDIN"
        marks = ", ".join("?" * (len(known) + len(extra)))
        self.insert_sql = f"INSERT INTO {quote(self.name)} ({columns}) VALUES ({marks})"


class _Sink:
    """Writes rows of a table: COPY on PostgreSQL, executemany on SQLite.

    On PostgreSQL the server's work (ten indexes to keep on the reviews table) takes about
    as long as generating the rows, so a thread sends each chunk while the next is made.
    The thread gets the chunk as one string of COPY text, formatted here: psycopg then
    holds the GIL only briefly, not once per row. SQLite works inside this process and
    takes the GIL back after every row, so there it writes in this thread, in turn.
    """

    def __init__(self, cursor):
        self.postgres = connection.vendor == "postgresql"
        self.rows = {}
        self.seconds = {}
        self.error = None
        if self.postgres:
            # The raw psycopg cursor under Django's wrapper: COPY is psycopg's own API,
            # and the wrapper checks it is used from the thread that made the connection.
            self.raw = cursor.cursor
            # Two chunks (three tables each) queued at most: memory stays bounded.
            self.jobs = queue.Queue(maxsize=6)
            self.thread = threading.Thread(target=self._work, name="bench-data-copy", daemon=True)
            self.thread.start()
        else:
            self.raw = connection.connection

    def write(self, table, rows):
        if self.error is not None:
            raise self.error
        if not rows:
            return
        if table.pad:
            rows = [row + table.pad for row in rows]
        if self.postgres:
            self.jobs.put((table, len(rows), _copy_text(rows)))
        else:
            started = time.monotonic()
            self.raw.executemany(table.insert_sql, rows)
            self._count(table, len(rows), started)

    def close(self):
        """Wait for every row to be written; raise what the writer ran into, if anything."""
        self.stop()
        if self.error is not None:
            raise self.error

    def stop(self):
        if self.postgres and self.thread.is_alive():
            self.jobs.put(None)
            self.thread.join()

    def _work(self):
        while (job := self.jobs.get()) is not None:
            if self.error is None:  # after a failure, only drain the queue
                table, count, text = job
                started = time.monotonic()
                try:
                    with self.raw.copy(table.copy_sql) as copy:
                        copy.write(text)
                except BaseException as error:  # handed to the main thread, raised there
                    self.error = error
                else:
                    self._count(table, count, started)

    def _count(self, table, count, started):
        self.rows[table.name] = self.rows.get(table.name, 0) + count
        self.seconds[table.name] = self.seconds.get(table.name, 0) + time.monotonic() - started

    def stamp(self, seconds):
        """A moment (seconds since the epoch, UTC) as text the column takes: str() of a
        naive UTC datetime, which is what Django itself stores on SQLite."""
        text = str(_utc(seconds))
        return text + "+00" if self.postgres else text


# Three times faster than adding a timedelta to the epoch, for four million values.
# (Deprecated from Python 3.12 on, for its naive result; the project runs on 3.11.)
_utc = datetime.utcfromtimestamp


def _copy_text(rows):
    """Rows in PostgreSQL's COPY text format."""
    return "".join(["\t".join([_copy_value(value) for value in row]) + "\n" for row in rows])


def _copy_value(value):
    if value is None:
        return "\\N"
    if value is True:
        return "t"
    if value is False:
        return "f"
    if type(value) is str:
        if "\\" in value or "\n" in value or "\r" in value or "\t" in value:
            return value.translate(_COPY_ESCAPES)
        return value
    return str(value)


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"})


_EPOCH = datetime(1970, 1, 1)


def _max_pk(cursor, model):
    quote = connection.ops.quote_name
    cursor.execute(
        f"SELECT COALESCE(MAX({quote(model._meta.pk.column)}), 0) "
        f"FROM {quote(model._meta.db_table)}"
    )
    return cursor.fetchone()[0]


def bench_users():
    return get_user_model().objects.filter(_bench())


def _bench(path=""):
    """The condition on a member (the one `path` leads to) that makes them a bench member."""
    prefix = f"{path}__" if path else ""
    return Q(**{f"{prefix}username__startswith": BENCH_PREFIX, f"{prefix}password": BENCH_PASSWORD})


def _epoch_seconds(day):
    return (datetime(day.year, day.month, day.day) - _EPOCH).total_seconds()


# --- Planning -------------------------------------------------------------------------


def all_in_slug():
    """The slug of Step Up: All In, as the catalog file gives it."""
    catalog = json.loads(CATALOG_FILE.read_text(encoding="utf-8"))
    for entry in catalog["titles"]:
        if entry["name"] == ALL_IN_NAME:
            return entry["slug"]
    return None


def split_reviews(titles, all_in, total, on_all_in):
    """How many reviews each title gets: exactly `on_all_in` on All In, the rest spread
    over the other titles by franchise position (largest remainders, so the sum is exact)."""
    others = [title for title in titles if title.pk != all_in.pk]
    counts = {all_in.pk: on_all_in}
    rest = total - on_all_in
    if not others:
        counts[all_in.pk] += rest
        return counts
    weights = [
        SERIES_WEIGHT if title.is_series else SEQUEL_FALLOFF ** (rank)
        for rank, title in enumerate(others)
    ]
    shares = [rest * weight / sum(weights) for weight in weights]
    floors = [int(share) for share in shares]
    by_remainder = sorted(range(len(others)), key=lambda i: floors[i] - shares[i])
    for i in by_remainder[: rest - sum(floors)]:
        floors[i] += 1
    counts.update({title.pk: count for title, count in zip(others, floors, strict=True)})
    return counts


# --- Generation -----------------------------------------------------------------------


@dataclass
class Summary:
    users: int = 0
    reviews: int = 0
    text_reviews: int = 0
    votes: int = 0
    comments: int = 0


class Generator:
    """Generates and writes the bench community in one pass, chunk by chunk."""

    def __init__(self, *, users, review_counts, seed, log):
        self.n_users = users
        self.review_counts = review_counts
        self.rng = random.Random(seed)
        self.log = log
        # Midnight today: the same --seed gives the same data all day long.
        today = timezone.now().date()
        self.now = _epoch_seconds(today)
        self.summary = Summary()

    def run(self):
        started = time.monotonic()
        User = get_user_model()
        self.users_table = _Table(
            User,
            ["id", "password", "last_login", "is_superuser", "username", "first_name",
             "last_name", "email", "is_staff", "is_active", "date_joined", "is_sample",
             "suspended_at"],
        )  # fmt: skip
        self.reviews_table = _Table(
            Review,
            ["id", "status", "moderation_reason", "moderated_by", "moderated_at",
             "hidden_by_suspension", "title", "author", "rating", "headline", "body",
             "contains_spoilers", "helpful_count", "comment_count", "is_featured",
             "featured_at", "created_at", "updated_at"],
        )  # fmt: skip
        self.votes_table = _Table(HelpfulVote, ["id", "review", "voter", "created_at"])
        self.comments_table = _Table(
            Comment,
            ["id", "status", "moderation_reason", "moderated_by", "moderated_at",
             "hidden_by_suspension", "review", "author", "body", "created_at", "updated_at"],
        )  # fmt: skip
        titles = list(
            Title.objects.filter(pk__in=self.review_counts).order_by("franchise_position")
        )
        with connection.cursor() as cursor:
            self.user_base = _max_pk(cursor, User)
            self.review_id = _max_pk(cursor, Review)
            self.vote_id = _max_pk(cursor, HelpfulVote)
            self.comment_id = _max_pk(cursor, Comment)
            self.texts = TextMaker(self.rng, titles, _flavour(titles))
            self.sink = _Sink(cursor)
            try:
                self._users(titles)
                self.log(
                    f"users: {self.summary.users:,} generated, {time.monotonic() - started:.0f} s"
                )
                for title in titles:
                    self._reviews_of(title, self.review_counts[title.pk], started)
            finally:
                self.sink.stop()
            self.sink.close()
            self.log(f"all rows written, {time.monotonic() - started:.0f} s")
            # Explicit ids leave PostgreSQL's sequences behind: the next sign-up, review,
            # vote or comment must not collide with them.
            for sql in connection.ops.sequence_reset_sql(
                no_style(), [User, Review, HelpfulVote, Comment]
            ):
                cursor.execute(sql)
        for table in (self.users_table, self.reviews_table, self.votes_table, self.comments_table):
            self.log(
                f"  {table.name}: {self.sink.rows.get(table.name, 0):,} rows, "
                f"{self.sink.seconds.get(table.name, 0):.1f} s writing"
            )
        return self.summary

    def _users(self, titles):
        rng = self.rng
        # Members join from the first release on (or 400 days back, for new titles only).
        start = min(
            [_epoch_seconds(_release(title)) for title in titles] + [self.now - 400 * 86400]
        )
        end = self.now - MIN_ACCOUNT_AGE_DAYS * 86400
        # More members join as the site grows: sqrt pushes the dates towards recent years.
        # Sorted, so the ids follow the order of joining as they would on the site.
        self.joined = sorted(
            start + (end - start) * math.sqrt(rng.random()) for _ in range(self.n_users)
        )
        stamp = self.sink.stamp
        rows = []
        for index, joined in enumerate(self.joined):
            username = f"{BENCH_PREFIX}{index + 1:07d}"
            last_login = joined + (self.now - joined) * rng.random()
            rows.append(
                (self.user_base + index + 1, BENCH_PASSWORD, stamp(last_login), False, username,
                 "", "", f"{username}@{BENCH_EMAIL_DOMAIN}", False, True, stamp(joined), False,
                 None)
            )  # fmt: skip
            if len(rows) >= CHUNK * 2:
                self.sink.write(self.users_table, rows)
                rows = []
        self.sink.write(self.users_table, rows)
        self.summary.users = self.n_users

    def _reviews_of(self, title, count, started):
        rng = self.rng
        now = self.now
        opened = min(_epoch_seconds(_release(title)), now - 86400)
        mix = rng.uniform(0.3, 0.95)
        weights = [
            mix * warm + (1 - mix) * cool
            for warm, cool in zip(RATING_WEIGHTS_WARM, RATING_WEIGHTS_COOL, strict=True)
        ]
        ratings = rng.choices(range(1, 11), weights=weights, k=count)
        authors = rng.sample(range(self.n_users), count)
        joined = self.joined
        moments = []
        for author in authors:
            since = max(opened, joined[author])
            # Squared: reviews bunch up after the release (or the member's joining).
            moments.append((since + (now - since) * rng.random() ** 2, author))
        # Sorted so ids follow posting time, as on the site.
        moments.sort()
        for offset in range(0, count, CHUNK):
            self._chunk(
                title,
                moments[offset : offset + CHUNK],
                ratings[offset : offset + CHUNK],
            )
            self.log(
                f"reviews: {title.name} {min(offset + CHUNK, count):,}/{count:,}, "
                f"total {self.summary.reviews:,} reviews, {self.summary.votes:,} votes, "
                f"{self.summary.comments:,} comments, {time.monotonic() - started:.0f} s"
            )

    def _chunk(self, title, moments, ratings):
        rng = self.rng
        random_ = rng.random
        now = self.now
        n_users = self.n_users
        user_base = self.user_base
        stamp = self.sink.stamp
        texts = self.texts
        title_id = title.pk
        max_votes = min(MAX_VOTES_PER_REVIEW, n_users - 1)
        reviews, votes, comments = [], [], []
        summary = self.summary
        for (posted, author), rating in zip(moments, ratings, strict=True):
            self.review_id += 1
            review_id = self.review_id
            has_text = random_() < TEXT_SHARE
            if has_text:
                body = texts.body(title_id, rating)
                headline = texts.headline(title_id, rating) if random_() < HEADLINE_SHARE else ""
                spoilers = random_() < SPOILER_SHARE
                summary.text_reviews += 1
            else:
                body = headline = ""
                spoilers = False
            draw = random_()
            moderated_at = None
            reason = ""
            if draw < REMOVED_SHARE:
                status = REMOVED
                reason = rng.choice(REMOVAL_REASONS)
                moderated_at = stamp(min(now, posted + rng.uniform(600, 3 * 86400)))
            elif draw < REMOVED_SHARE + PENDING_SHARE:
                status = PENDING
                reason = rng.choice(HOLD_REASONS)
                if reason:
                    moderated_at = stamp(min(now, posted + rng.uniform(600, 86400)))
            else:
                status = PUBLISHED
            created = stamp(posted)
            if random_() < EDITED_SHARE:
                updated = stamp(min(now, posted + rng.uniform(3600, 90 * 86400)))
            else:
                updated = created
            helpful = commented = 0
            # Only published reviews can be voted on or answered (as in reviews.services).
            if has_text and status == PUBLISHED and max_votes > 0:
                if random_() >= VOTELESS_SHARE:
                    helpful = int(rng.paretovariate(VOTE_PARETO_ALPHA))
                    while helpful > max_votes:  # redrawn, not capped: no pile-up at the cap
                        helpful = int(rng.paretovariate(VOTE_PARETO_ALPHA))
                    for voter in _others(rng, n_users, author, helpful):
                        self.vote_id += 1
                        voted = posted + (now - posted) * random_() ** 3
                        votes.append((self.vote_id, review_id, user_base + voter + 1, stamp(voted)))
                if random_() < COMMENTED_SHARE:
                    thread = rng.choices(range(1, 6), cum_weights=COMMENTS_PER_THREAD_CUMULATIVE)[0]
                    thread = min(thread, n_users - 1)
                    when = sorted(posted + (now - posted) * random_() ** 2 for _ in range(thread))
                    for commenter, moment in zip(
                        _others(rng, n_users, author, thread), when, strict=True
                    ):
                        self.comment_id += 1
                        draw = random_()
                        comment_reason = ""
                        comment_moderated = None
                        if draw < COMMENT_REMOVED_SHARE:
                            comment_status = REMOVED
                            comment_reason = rng.choice(REMOVAL_REASONS)
                            comment_moderated = stamp(min(now, moment + 3600))
                        elif draw < COMMENT_REMOVED_SHARE + COMMENT_PENDING_SHARE:
                            comment_status = PENDING
                        else:
                            comment_status = PUBLISHED
                            commented += 1  # only published comments are counted
                        at = stamp(moment)
                        comments.append(
                            (self.comment_id, comment_status, comment_reason, None,
                             comment_moderated, False, review_id, user_base + commenter + 1,
                             texts.comment(title_id), at, at)
                        )  # fmt: skip
            reviews.append(
                (review_id, status, reason, None, moderated_at, False, title_id,
                 user_base + author + 1, rating, headline, body, spoilers, helpful, commented,
                 False, None, created, updated)
            )  # fmt: skip
        summary.reviews += len(reviews)
        summary.votes += len(votes)
        summary.comments += len(comments)
        # Reviews first: the votes and comments refer to them.
        self.sink.write(self.reviews_table, reviews)
        self.sink.write(self.votes_table, votes)
        self.sink.write(self.comments_table, comments)


def _release(title):
    return title.release_date or date(title.release_year, 1, 1)


def _others(rng, n_users, author, count):
    """`count` distinct member indexes, never the author's."""
    if count <= 0:
        return []
    picked = rng.sample(range(n_users), count + 1)
    if author in picked:
        picked.remove(author)
    else:
        picked.pop()
    return picked


def _flavour(titles):
    """Each title's character, crew and routine names, for texts that sound like fans."""
    flavour = {}
    for title in titles:
        characters = list(
            Character.objects.filter(credits__title=title).values_list("name", flat=True).distinct()
        )
        crews = list(
            Crew.objects.filter(memberships__title=title).values_list("name", flat=True).distinct()
        )
        routines = list(Routine.objects.filter(title=title).values_list("name", flat=True))
        flavour[title.pk] = (sorted(characters), sorted(crews), sorted(routines))
    return flavour


# --- Replacing ------------------------------------------------------------------------


class BenchDeleteError(Exception):
    pass


# Rows that PROTECT a bench member but are bench data themselves: deleted with the member.
_BENCH_CONTENT = (Review, HelpfulVote, Comment)


def _relations_to(model):
    # Hidden relations too (related_name="+"), as Django's own deletion collector sees them.
    return [
        field
        for field in model._meta.get_fields(include_hidden=True)
        if field.auto_created and not field.concrete and (field.one_to_many or field.one_to_one)
    ]


def _delete_where(cursor, model, where, params, counts):
    """Delete the rows of `model` matching `where`, after what refers to them, in SQL.

    What Model.delete() would do, but set-based: each relation gets one statement with a
    subquery, instead of loading a million rows into Python to cascade over them.
    """
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    for relation in _relations_to(model):
        field = relation.field
        related = relation.related_model
        related_table = quote(related._meta.db_table)
        target = quote(field.target_field.column)
        condition = f"{quote(field.column)} IN (SELECT {target} FROM {table} WHERE {where})"
        on_delete = field.remote_field.on_delete
        if on_delete is models.CASCADE or (
            on_delete is models.PROTECT and related in _BENCH_CONTENT
        ):
            _delete_where(cursor, related, condition, params, counts)
        elif on_delete is models.SET_NULL:
            cursor.execute(
                f"UPDATE {related_table} SET {quote(field.column)} = NULL WHERE {condition}",
                params,
            )
        elif on_delete is not models.DO_NOTHING:
            cursor.execute(f"SELECT COUNT(*) FROM {related_table} WHERE {condition}", params)
            blocking = cursor.fetchone()[0]
            if blocking:
                raise BenchDeleteError(
                    f"{blocking} {related._meta.verbose_name_plural} still refer to bench "
                    f"data ({related.__name__}.{field.name}); delete them first"
                )
    cursor.execute(f"DELETE FROM {table} WHERE {where}", params)
    counts[model._meta.label] = counts.get(model._meta.label, 0) + max(cursor.rowcount, 0)


def delete_bench_data():
    """Delete the bench members with everything they wrote and everything on it.

    Real members' content stays. Their reviews lose the votes and comments bench members
    gave them (none, unless someone added some by hand), so those reviews are recounted;
    a title whose staff pick was a bench review gets its previous pick back.
    """
    quote = connection.ops.quote_name
    User = get_user_model()
    users = bench_users()
    if not users.exists():
        return {}
    bench_reviews = Review.objects.filter(author__in=users)
    # Joins, not NOT IN (subquery): PostgreSQL plans that as a rescan per row, for hours.
    touched = set(
        HelpfulVote.objects.filter(_bench("voter"))
        .exclude(_bench("review__author"))
        .order_by()
        .values_list("review_id", flat=True)
    ) | set(
        Comment.objects.filter(_bench("author"))
        .exclude(_bench("review__author"))
        .order_by()
        .values_list("review_id", flat=True)
    )
    picks_lost = list(
        Title.objects.filter(featured_review__in=bench_reviews).values_list("pk", flat=True)
    )
    counts = {}
    meta = User._meta
    where = (
        f"{quote(meta.get_field('username').column)} LIKE %s "
        f"AND {quote(meta.get_field('password').column)} = %s"
    )
    # No LIKE wildcards in the prefix, so it matches literally.
    params = [f"{BENCH_PREFIX}%", BENCH_PASSWORD]
    with connection.cursor() as cursor:
        _delete_where(cursor, User, where, params, counts)
    for review in Review.objects.filter(pk__in=touched):
        Review.objects.filter(pk=review.pk).update(
            helpful_count=review.helpful_votes.count(),
            comment_count=review.comments.published().count(),
        )
    for title_id in picks_lost:
        newest = Review.objects.featured().filter(title_id=title_id).first()
        Title.objects.filter(pk=title_id).update(featured_review=newest)
    return counts


# --- Foreign keys ---------------------------------------------------------------------


@contextmanager
def foreign_keys_checked_at_the_end(loaded, log):
    """Foreign keys on or to the `loaded` models' tables checked once, at the end of the block,
    rather than row by row.

    Django's foreign keys are checked at commit, one queued check per row written or
    deleted: for a million reviews and their votes, minutes. On PostgreSQL they are
    dropped here and added back at the end, each checked then by one join; use inside the
    load's transaction, so that if anything fails they are back as they were (meanwhile
    the tables are locked against other sessions). On SQLite, where only a connection
    outside a transaction can turn checking off, the caller does that; then the whole
    database is checked here at the end, still inside the transaction.
    """
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA foreign_keys")
            unchecked = not cursor.fetchone()[0]
        yield
        if unchecked:
            started = time.monotonic()
            connection.check_constraints()
            log(f"foreign keys checked in {time.monotonic() - started:.1f} s")
        return
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        # ALTER TABLE refuses a table with checks still queued (rows a caller, or a test,
        # wrote in this transaction): run them now, then defer again as Django declares.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        tables = [connection.ops.quote_name(model._meta.db_table) for model in loaded]
        cursor.execute(
            "SELECT conrelid::regclass::text, quote_ident(conname), pg_get_constraintdef(oid) "
            "FROM pg_constraint WHERE contype = 'f' "
            "AND (conrelid = ANY(%s::regclass[]) OR confrelid = ANY(%s::regclass[])) "
            "ORDER BY 1, 2",
            [tables, tables],
        )
        found = cursor.fetchall()
        for table, name, _definition in found:
            cursor.execute(f"ALTER TABLE {table} DROP CONSTRAINT {name}")
    yield
    started = time.monotonic()
    with connection.cursor() as cursor:
        for table, name, definition in found:
            cursor.execute(f"ALTER TABLE {table} ADD CONSTRAINT {name} {definition}")
    log(f"{len(found)} foreign keys added back and checked in {time.monotonic() - started:.1f} s")


# --- Finishing ------------------------------------------------------------------------


def recount_titles():
    """Every title's stored aggregates, set to a fresh count of its published reviews."""
    for title in Title.objects.order_by("pk"):
        Title.objects.filter(pk=title.pk).update(**title_aggregates_recount(title))


def analyze(tables):
    """Fresh planner statistics, so the first benchmark does not run on empty-table plans.

    Outside a transaction, PostgreSQL also gets a VACUUM: it sets the visibility map
    (index-only scans) and the hint bits a first reader would otherwise write.
    """
    quote = connection.ops.quote_name
    names = ", ".join(quote(table) for table in tables)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            if connection.in_atomic_block:
                cursor.execute(f"ANALYZE {names}")
            else:
                cursor.execute(f"VACUUM (ANALYZE) {names}")
        elif connection.vendor == "sqlite":
            cursor.execute("ANALYZE")
            cursor.execute("PRAGMA optimize")
