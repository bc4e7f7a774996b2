import random

from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.models import User
from films.models import Title
from reviews import services
from reviews.models import Comment, Review, RoutineRating

SAMPLE_MEMBERS = [  # all start with accounts.models.SAMPLE_PREFIX
    "sample-krumpqueen",
    "sample-breakinbaltimore",
    "sample-lockerlou",
    "sample-popnwave",
    "sample-vegasfinale",
    "sample-miamimob",
    "sample-housedancer",
    "sample-tuttingtom",
]

# Opinions, not facts: short reviews of the kind fans write, kept general so they never
# state anything about a title that the catalog does not.
SAMPLE_REVIEWS = [
    ("", "The dancing carries everything. I rewatch the big numbers more than the film."),
    ("Worth it for the finale", "The story is thin but the last battle had me on my feet."),
    ("", "Fun, loud and a little cheesy. Exactly what I wanted on a Friday night."),
    (
        "Better on a second watch",
        "The first time I rolled my eyes at the plot.\nThe second time I just watched the feet.",
    ),
    ("", "Great crews, forgettable villain. The choreography is the real star."),
    ("Not for me", "Too much talking between the dances. I skipped ahead more than once."),
    ("", "My favourite of the franchise to put on with friends."),
    ("Pure joy", "Every routine is a little story. I smiled all the way through."),
]
# Spanish-speaking sample members (issue 16), with their own reviews in neutral Latin
# American Spanish: opinions again, never facts about a title. Kept apart from the English
# ones, with their own random sequence, so the English sample stays what sites loaded before.
SAMPLE_MEMBERS_ES = [
    "sample-valedanza",
    "sample-bboydiego",
    "sample-pasosfirmes",
    "sample-lacoreografa",
    "sample-salsaybreak",
]
SAMPLE_REVIEWS_ES = [
    ("", "El baile lo sostiene todo. Vuelvo a ver los números grandes más que la película."),
    (
        "Vale la pena por el final",
        "La historia es sencilla, pero el número final me hizo levantarme del sillón.",
    ),
    ("", "Divertida, ruidosa y un poco cursi. Justo lo que quería para un viernes en la noche."),
    (
        "Mejor la segunda vez",
        "La primera vez la trama me aburrió.\nLa segunda me dediqué a mirar los pies.",
    ),
    ("", "Las coreografías son las verdaderas protagonistas. Los diálogos, no tanto."),
    ("No es para mí", "Demasiado diálogo entre un baile y otro. Me adelanté más de una vez."),
    ("", "Mi favorita para ver con amigos y con el volumen bien alto."),
    ("Pura alegría", "Cada rutina cuenta una pequeña historia. Sonreí de principio a fin."),
    ("", "La música me encantó, y la energía de los bailarines se contagia."),
]
SAMPLE_COMMENTS_ES = [
    "Totalmente de acuerdo con lo del final.",
    "Puede ser, pero a mí la historia sí me convenció.",
    "Gracias por la reseña, la veo esta noche.",
    "Es cierto, la segunda vez se disfruta más.",
]
SAMPLE_COMMENTS = [
    "Completely agree about the finale.",
    "Fair, but I think the story works better than people say.",
    "Thanks for this, I am watching it tonight.",
    "The second watch really is better.",
]


class Command(BaseCommand):
    help = (
        "Add sample member accounts (usernames starting 'sample-', marked as samples) with "
        "reviews, helpful votes and comments on every title, ratings of its routines and "
        "reviews naming its best routine. Safe to run again."
    )

    @transaction.atomic
    def handle(self, *args, verbosity=1, **options):
        members = self._members(SAMPLE_MEMBERS)
        chooser = random.Random(2014)  # the same sample site every time
        # Their own sequence: the reviews stay those that sites loaded before routines had.
        picker = random.Random(2008)
        new_reviews = []
        for title in Title.objects.prefetch_related("routines"):
            routines = list(title.routines.all())
            reviewers = chooser.sample(members, k=6)
            for member in reviewers:
                headline, body = chooser.choice(SAMPLE_REVIEWS)
                rating = chooser.choice([4, 5, 6, 7, 7, 8, 8, 9, 9, 10])
                with_text = chooser.random() < 0.7
                best_routine = _best_routine_pick(routines, picker)
                if Review.objects.filter(title=title, author=member).exists():
                    continue
                review, _created = services.review_submit(
                    title=title,
                    author=member,
                    rating=rating,
                    headline=headline if with_text else "",
                    body=body if with_text else "",
                    best_routine=best_routine,
                )
                new_reviews.append(review)
        new_ratings = self._rate_routines(members)
        spanish = self._spanish_reviews()
        # Votes and comments only on reviews this run added: a second run adds nothing.
        titles_commented = set()
        for review in new_reviews:
            others = [m for m in members if m.pk != review.author_id]
            for voter in chooser.sample(others, k=chooser.randint(0, 3)):
                services.helpful_vote_toggle(review=review, voter=voter)
            if review.has_text and chooser.random() < 0.4:
                self._comment(review, others, chooser)
                titles_commented.add(review.title_id)
        # Chance alone can leave a title without a conversation: give each its first comment.
        for review in new_reviews:
            if review.has_text and review.title_id not in titles_commented:
                others = [m for m in members if m.pk != review.author_id]
                self._comment(review, others, chooser)
                titles_commented.add(review.title_id)
        if verbosity:
            self.stdout.write(
                f"sample content: {len(members)} sample members, "
                f"{len(new_reviews) + len(spanish)} reviews added ({len(spanish)} in Spanish), "
                f"{new_ratings} routine ratings added, "
                f"{Review.objects.filter(author__is_sample=True).count()} sample reviews, "
                f"{Comment.objects.filter(author__is_sample=True).count()} sample comments"
            )

    def _members(self, usernames):
        members = []
        for username in usernames:
            member = User.objects.filter(username=username).first()
            if member is None:
                member = User(
                    username=username, email=f"{username}@example.invalid", is_sample=True
                )
                member.set_unusable_password()  # nobody signs in as a sample
                member.save()
            elif not member.is_sample:
                # A real member with this name (made before the prefix was reserved):
                # never write in their name.
                self.stderr.write(f"skipping {username}: a real account has that name")
                continue
            members.append(member)
        return members

    def _spanish_reviews(self):
        """Three Spanish reviews on every title by the Spanish-speaking members, some of
        them marked helpful and answered in Spanish by the others. Only what is missing is
        added (a second run adds nothing); returns the reviews added."""
        members = self._members(SAMPLE_MEMBERS_ES)
        chooser = random.Random(2016)
        added = []
        for title in Title.objects.order_by("pk"):
            for member in chooser.sample(members, k=min(3, len(members))):
                headline, body = chooser.choice(SAMPLE_REVIEWS_ES)
                rating = chooser.choice([4, 6, 7, 7, 8, 8, 9, 9, 10])
                if Review.objects.filter(title=title, author=member).exists():
                    continue
                review, _created = services.review_submit(
                    title=title,
                    author=member,
                    rating=rating,
                    headline=headline,
                    body=body,
                    language="es",
                )
                added.append(review)
        for review in added:
            others = [m for m in members if m.pk != review.author_id]
            for voter in chooser.sample(others, k=chooser.randint(0, 2)):
                services.helpful_vote_toggle(review=review, voter=voter)
            if chooser.random() < 0.4:
                services.comment_create(
                    review=review,
                    author=chooser.choice(others),
                    body=chooser.choice(SAMPLE_COMMENTS_ES),
                )
        return added

    @staticmethod
    def _rate_routines(members):
        """Each sample member rates most routines: a title's finale (its last routine in
        running order) is the number fans rave about, the others spread wider around a
        level of their own. Only ratings a member has not given yet are added."""
        chooser = random.Random(2006)
        rated = set(
            RoutineRating.objects.filter(member__in=members).values_list("routine_id", "member_id")
        )
        added = 0
        for title in Title.objects.prefetch_related("routines"):
            routines = list(title.routines.all())
            for routine in routines:
                finale = routine is routines[-1]
                level = 9 if finale else chooser.choice([6, 7, 7, 8])
                spread = [-1, -1, 0, 0, 0, 1] if finale else [-2, -1, -1, 0, 0, 1]
                for member in members:
                    rates = chooser.random() < (0.9 if finale else 0.6)
                    rating = min(10, max(1, level + chooser.choice(spread)))
                    if not rates or (routine.pk, member.pk) in rated:
                        continue
                    services.routine_rate(routine=routine, member=member, rating=rating)
                    added += 1
        return added

    @staticmethod
    def _comment(review, others, chooser):
        services.comment_create(
            review=review, author=chooser.choice(others), body=chooser.choice(SAMPLE_COMMENTS)
        )


def _best_routine_pick(routines, picker):
    """Which routine a sample review names its title's best: none about half the time,
    else the finale (the last in running order) more often than any other."""
    if not routines or picker.random() < 0.45:
        return None
    return routines[-1] if picker.random() < 0.6 else picker.choice(routines)
