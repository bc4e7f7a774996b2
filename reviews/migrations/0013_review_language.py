"""The language a review is written in (issue 16): every review written so far is English,
the field's default. Partial indexes serve the title page's list in one language (each sort's
seek, and the count per language) among the published reviews with text."""

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('films', '0004_routine_ratings_dancers_global_slug'),
        ('reviews', '0012_routine_roles'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='review',
            name='language',
            field=models.CharField(choices=[('en', 'English'), ('es', 'Spanish')], default='en', max_length=7, verbose_name='language'),
        ),
        migrations.AddIndex(
            model_name='review',
            index=models.Index(condition=models.Q(('status', 'published'), models.Q(('body', ''), _negated=True)), fields=['title', 'language', 'helpful_count', 'created_at', 'id'], name='review_lang_helpful_seek'),
        ),
        migrations.AddIndex(
            model_name='review',
            index=models.Index(condition=models.Q(('status', 'published'), models.Q(('body', ''), _negated=True)), fields=['title', 'language', 'created_at', 'id'], name='review_lang_newest_seek'),
        ),
        migrations.AddIndex(
            model_name='review',
            index=models.Index(condition=models.Q(('status', 'published'), models.Q(('body', ''), _negated=True)), fields=['title', 'language', 'rating', 'created_at', 'id'], name='review_lang_rating_seek'),
        ),
        migrations.AddConstraint(
            model_name='review',
            constraint=models.CheckConstraint(condition=models.Q(('language__in', ['en', 'es'])), name='review_language_valid', violation_error_message="A review is written in one of the site's languages."),
        ),
    ]
