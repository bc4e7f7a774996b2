from django.core.management import call_command

from films.models import Title
from reviews.models import Comment, Review


def test_sample_content_gives_every_title_of_the_catalog_reviews_and_comments(db):
    call_command("load_catalog", verbosity=0)
    call_command("load_sample_content", verbosity=0)

    for title in Title.objects.all():
        assert Review.objects.filter(title=title, author__is_sample=True).exists(), title.name
        assert Comment.objects.filter(review__title=title).exists(), title.name


def test_sample_content_adds_nothing_the_second_time(db):
    call_command("load_catalog", verbosity=0)
    call_command("load_sample_content", verbosity=0)
    counts = Review.objects.count(), Comment.objects.count()

    call_command("load_sample_content", verbosity=0)

    assert (Review.objects.count(), Comment.objects.count()) == counts
