"""The count of each title's listed reviews (published, with text) by language, stored
(issue 16's language switch counted them on every page view the cache had not kept), and
filled here with one GROUP BY over the reviews written so far."""

import django.db.models.deletion
from django.db import migrations, models


def fill_language_counts(apps, schema_editor):
    Review = apps.get_model("reviews", "Review")
    TitleLanguageCount = apps.get_model("reviews", "TitleLanguageCount")
    rows = (
        Review.objects.filter(status="published")
        .exclude(body="")
        .order_by()
        .values_list("title_id", "language")
        .annotate(listed=models.Count("id"))
    )
    TitleLanguageCount.objects.bulk_create(
        [
            TitleLanguageCount(title_id=title_id, language=language, review_count=listed)
            for title_id, language, listed in rows
        ],
        batch_size=500,
    )


class Migration(migrations.Migration):

    dependencies = [
        ('films', '0004_routine_ratings_dancers_global_slug'),
        ('reviews', '0014_title_month'),
    ]

    operations = [
        migrations.CreateModel(
            name='TitleLanguageCount',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('language', models.CharField(choices=[('en', 'English'), ('es', 'Spanish')], max_length=7, verbose_name='language')),
                ('review_count', models.IntegerField(default=0, verbose_name='listed reviews')),
                ('title', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='language_counts', to='films.title', verbose_name='title')),
            ],
            options={
                'verbose_name': "title's reviews in a language",
                'verbose_name_plural': "titles' reviews by language",
                'constraints': [models.UniqueConstraint(fields=('title', 'language'), name='title_language_count_one_per_language'), models.CheckConstraint(condition=models.Q(('review_count__gte', 0)), name='title_language_count_not_negative')],
            },
        ),
        # Reversed, the table goes: nothing to undo.
        migrations.RunPython(fill_language_counts, migrations.RunPython.noop, elidable=True),
    ]
