from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts import services as account_services
from films.models import Title
from reviews import moderation, services
from reviews.models import Comment, ModerationAction, Report, Review, Status
from tests.conftest import ensure_roles
from tests.factories import (
    RoutineFactory,
    StaffUserFactory,
    TitleFactory,
    UserFactory,
    review,
    routine_rating,
)
from tests.html import admin_rows, elements_with_class, page_text, text_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def title():
    return TitleFactory(name="Step Up: All In", slug="step-up-all-in")


@pytest.fixture(autouse=True)
def roles(db):
    ensure_roles()


def moderator_account():
    moderator = UserFactory(username="mod", is_staff=True)
    moderator.groups.add(Group.objects.get(name="Moderators"))
    return moderator


def editor_account():
    editor = UserFactory(username="editor", is_staff=True)
    editor.groups.add(Group.objects.get(name="Editors"))
    return editor


@pytest.fixture
def moderator(client):
    account = moderator_account()
    client.force_login(account)
    return account


def queue_action(client, model, action, items, **extra):
    url = reverse(f"admin:reviews_{model}_changelist")
    return client.post(
        url, {"action": action, "_selected_action": [item.pk for item in items], **extra}
    )


# --- 1. Statuses --------------------------------------------------------------------------


def test_new_reviews_can_be_held_until_approved(settings, client, title):
    settings.REVIEWS_HOLD_NEW = True
    held = review(title=title, rating=8, body="Held until approved")
    assert held.status == Status.PENDING
    title.refresh_from_db()
    assert title.rating_count == 0
    assert "Held until approved" not in page_text(client.get(title.get_absolute_url()))
    moderation.content_moderate(item=held, status=Status.PUBLISHED, moderator=moderator_account())
    title.refresh_from_db()
    assert (title.rating_count, title.rating_sum) == (1, 8)


def test_reviews_are_published_at_once_by_default(client, title):
    published = review(title=title, rating=8, body="Shown at once")
    assert published.status == Status.PUBLISHED
    # Public straight away: on the title page for a visitor, and in its aggregates.
    assert "Shown at once" in page_text(client.get(title.get_absolute_url()))
    title.refresh_from_db()
    assert (title.rating_count, title.rating_sum) == (1, 8)


def test_reviews_from_young_accounts_can_be_held(settings, title):
    settings.REVIEWS_HOLD_ACCOUNTS_YOUNGER_THAN_DAYS = 7
    newcomer = UserFactory()
    veteran = UserFactory(date_joined=timezone.now() - timedelta(days=30))
    assert review(title=title, author=newcomer).status == Status.PENDING
    assert review(title=title, author=veteran).status == Status.PUBLISHED


def test_enough_distinct_reports_hold_an_item_by_itself(settings, title):
    settings.REPORTS_TO_HOLD = 3
    target = review(title=title, rating=2, body="Reported")
    for _ in range(2):
        services.report_create(reporter=UserFactory(), review=target, reason="spam")
    target.refresh_from_db()
    assert target.status == Status.PUBLISHED
    services.report_create(reporter=UserFactory(), review=target, reason="abuse")
    target.refresh_from_db()
    assert target.status == Status.PENDING
    assert Title.objects.get(pk=title.pk).rating_count == 0
    record = ModerationAction.objects.get(review=target)
    assert record.moderator is None and "3 reports" in record.reason


def test_reported_comments_are_held_too(settings, title):
    settings.REPORTS_TO_HOLD = 1
    target = review(title=title, body="x")
    comment = services.comment_create(review=target, author=UserFactory(), body="rude")
    services.report_create(reporter=UserFactory(), comment=comment, reason="abuse")
    comment.refresh_from_db()
    target.refresh_from_db()
    assert comment.status == Status.PENDING
    assert target.comment_count == 0


def test_removal_needs_a_reason_in_the_database_and_the_service(title):
    target = review(title=title)
    with pytest.raises(ValueError):
        moderation.content_moderate(item=target, status=Status.REMOVED, moderator=None, reason=" ")


# --- 3. Only published content is public -----------------------------------------------


def test_a_removed_review_leaves_every_public_place_and_aggregate(client, title):
    kept = review(title=title, rating=10, body="Kept review")
    gone = review(title=title, rating=2, body="Gone review", author=UserFactory(username="gone"))
    moderation.content_moderate(
        item=gone, status=Status.REMOVED, moderator=moderator_account(), reason="Spam"
    )

    title.refresh_from_db()
    assert (title.rating_count, title.rating_sum, title.ratings_2, title.text_review_count) == (
        1,
        10,
        0,
        1,
    )
    assert services.title_aggregates_recount(title)["rating_count"] == 1
    for url in (
        title.get_absolute_url(),
        reverse("films:home"),
        reverse("reviews:rss"),
        reverse("reviews:title_atom", kwargs={"slug": title.slug}),
        gone.author.get_absolute_url(),
    ):
        assert "Gone review" not in client.get(url).content.decode(), url
    assert "Kept review" in client.get(title.get_absolute_url()).content.decode()
    profile = client.get(gone.author.get_absolute_url()).content.decode()
    assert "No ratings yet." in profile
    assert client.get(gone.get_absolute_url()).status_code == 404
    assert kept.pk


def test_the_author_still_sees_a_removed_review_with_the_reason(client, title):
    gone = review(title=title, body="Mine")
    moderation.content_moderate(
        item=gone, status=Status.REMOVED, moderator=None, reason="Unmarked spoilers"
    )
    client.force_login(gone.author)
    html = client.get(gone.get_absolute_url()).content.decode()
    assert "Removed by a moderator" in html and "Reason: Unmarked spoilers" in html
    html = client.get(title.get_absolute_url()).content.decode()
    assert "Removed by a moderator" in html
    assert client.post(reverse("reviews:helpful", kwargs={"pk": gone.pk})).status_code == 403


def test_nobody_votes_or_comments_on_a_review_that_is_not_published(client, title):
    held = review(title=title, body="Held")
    moderation.content_moderate(item=held, status=Status.PENDING, moderator=None)
    client.force_login(UserFactory())
    assert client.post(reverse("reviews:helpful", kwargs={"pk": held.pk})).status_code == 404
    url = reverse("reviews:comment_create", kwargs={"pk": held.pk})
    assert client.post(url, {"body": "hi"}).status_code == 404
    assert not Comment.objects.exists()


def test_removing_and_restoring_a_comment_moves_the_comment_count(title):
    target = review(title=title, body="x")
    comment = services.comment_create(review=target, author=UserFactory(), body="hmm")
    moderation.content_moderate(item=comment, status=Status.REMOVED, moderator=None, reason="Abuse")
    target.refresh_from_db()
    assert target.comment_count == 0
    moderation.content_moderate(item=comment, status=Status.PUBLISHED, moderator=None)
    target.refresh_from_db()
    assert target.comment_count == 1
    assert (
        ModerationAction.objects.filter(comment=comment).values_list("action", flat=True).first()
        == "restore"
    )


# --- 2. The queue, in the admin ---------------------------------------------------------


def test_the_queue_puts_pending_and_reported_items_first_with_reasons_and_history(
    client, moderator, title
):
    # Created oldest first as held, reported, quiet: newest-first would list them backwards.
    held = review(title=title, body="Held")
    reported = review(title=title, body="Reported", author=UserFactory(username="loud"))
    quiet = review(title=title, body="Quiet")
    moderation.content_moderate(item=held, status=Status.PENDING, moderator=None)
    services.report_create(
        reporter=UserFactory(), review=reported, reason="spoilers", note="Ending!"
    )
    response = client.get(reverse("admin:reviews_review_changelist"))
    assert response.status_code == 200
    rows = list(response.context["cl"].result_list)
    assert [r.pk for r in rows] == [held.pk, reported.pk, quiet.pk]
    html = response.content.decode()
    assert "Unmarked spoilers: Ending!" in html
    assert "1 item, 0 removed" in html
    assert f'href="{reported.get_absolute_url()}"' in html


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"status__exact": "pending"}, {"Held"}),
        ({"reported": "open"}, {"Reported"}),
        ({"q": "loud"}, {"Reported"}),
        ({"q": "Quiet"}, {"Quiet"}),
    ],
)
def test_the_queue_filters_and_searches(client, moderator, title, params, expected):
    review(title=title, body="Quiet")
    reported = review(title=title, body="Reported", author=UserFactory(username="loud"))
    held = review(title=title, body="Held")
    moderation.content_moderate(item=held, status=Status.PENDING, moderator=None)
    services.report_create(reporter=UserFactory(), review=reported, reason="spam")
    response = client.get(reverse("admin:reviews_review_changelist"), params)
    assert {r.body for r in response.context["cl"].result_list} == expected


def test_remove_with_a_reason_emails_the_author_records_it_and_updates_the_page(
    client, moderator, title, django_capture_on_commit_callbacks, run_queued_tasks
):
    target = review(
        title=title, rating=2, body="Rude words", author=UserFactory(email="a@example.org")
    )
    review(title=title, rating=10, body="Fine")
    confirm = queue_action(client, "review", "remove_with_reason", [target])
    assert confirm.status_code == 200 and "Reason, sent to each author" in confirm.content.decode()
    target.refresh_from_db()
    assert target.status == Status.PUBLISHED  # nothing happens before the reason is given
    with django_capture_on_commit_callbacks(execute=True):  # the email leaves on commit
        done = queue_action(
            client, "review", "remove_with_reason", [target], apply="1", reason="Abusive"
        )
    assert done.status_code == 302
    target.refresh_from_db()
    assert (target.status, target.moderation_reason, target.moderated_by) == (
        Status.REMOVED,
        "Abusive",
        moderator,
    )
    assert mail.outbox == []  # queued: the worker sends it
    run_queued_tasks()
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["a@example.org"] and "Abusive" in mail.outbox[0].body
    assert "your review on Step Up: All In" in mail.outbox[0].body
    record = ModerationAction.objects.get(review=target)
    assert (record.action, record.moderator, record.reason) == ("remove", moderator, "Abusive")
    assert Title.objects.get(pk=title.pk).rating_count == 1


def test_approve_restore_feature_unfeature_and_resolve_reports(client, moderator, title):
    held = review(title=title, rating=6, body="Held")
    moderation.content_moderate(item=held, status=Status.PENDING, moderator=None)
    queue_action(client, "review", "approve", [held])
    held.refresh_from_db()
    assert held.status == Status.PUBLISHED

    removed = review(title=title, rating=4, body="Removed")
    moderation.content_moderate(item=removed, status=Status.REMOVED, moderator=None, reason="x")
    queue_action(client, "review", "approve", [removed])  # approve never revives a removal
    removed.refresh_from_db()
    assert removed.status == Status.REMOVED
    queue_action(client, "review", "restore", [removed])
    removed.refresh_from_db()
    assert removed.status == Status.PUBLISHED
    assert Title.objects.get(pk=title.pk).rating_count == 2

    queue_action(client, "review", "feature", [held])
    held.refresh_from_db()
    assert held.is_featured and Title.objects.get(pk=title.pk).featured_review_id == held.pk
    queue_action(client, "review", "unfeature", [held])
    assert Title.objects.get(pk=title.pk).featured_review_id is None

    services.report_create(reporter=UserFactory(), review=held, reason="spam")
    queue_action(client, "review", "resolve_reports", [held])
    report = Report.objects.get()
    assert report.resolved_by == moderator and report.resolved_at
    actions = set(ModerationAction.objects.values_list("action", flat=True))
    assert {"approve", "restore", "feature", "unfeature", "resolve"} <= actions


def test_comments_have_the_same_queue_and_actions(client, moderator, title):
    target = review(title=title, body="x")
    comment = services.comment_create(review=target, author=UserFactory(), body="Spammy link")
    services.report_create(reporter=UserFactory(), comment=comment, reason="spam")
    [row] = admin_rows(client.get(reverse("admin:reviews_comment_changelist")))
    assert "Spammy link" in row[1] and "Spam" in " ".join(row[5:])
    queue_action(client, "comment", "remove_with_reason", [comment], apply="1", reason="Spam")
    comment.refresh_from_db()
    assert comment.status == Status.REMOVED


# --- 4. Staff picks -----------------------------------------------------------------------


def test_staff_picks_show_on_the_home_page_and_above_a_titles_reviews(client, title):
    for number in range(3):
        review(title=title, body=f"Ordinary {number}")
    pick = review(title=title, body="The pick of the bunch")
    moderation.review_feature(review=pick, moderator=moderator_account())
    home = client.get(reverse("films:home")).content.decode()
    assert home.index("Staff picks") < home.index("The pick of the bunch")
    page = client.get(title.get_absolute_url()).content.decode()
    page = page[page.index("<main") :]  # the body: the head's JSON-LD names the pick too
    assert page.index('id="featured-review"') < page.index("Ordinary")
    assert page.count("The pick of the bunch") == 1
    moderation.content_moderate(item=pick, status=Status.REMOVED, moderator=None, reason="x")
    assert Title.objects.get(pk=title.pk).featured_review is None
    assert "The pick of the bunch" not in client.get(reverse("films:home")).content.decode()


# --- 5. Accounts --------------------------------------------------------------------------


def test_a_suspended_member_cannot_sign_in_or_post_and_their_session_ends(client, title):
    member = UserFactory(username="trouble", password="battle-in-vegas-2014")
    others = review(title=title, rating=9, body="Someone else")
    client.force_login(member)
    account_services.account_suspend(
        member=member, moderator=moderator_account(), reason="Spam wave"
    )
    # The session they had no longer works: every write asks them to sign in.
    edit = client.post(reverse("reviews:edit", kwargs={"slug": title.slug}), {"rating": 1})
    assert edit.status_code == 302 and "/accounts/login/" in edit["Location"]
    client.post(reverse("reviews:comment_create", kwargs={"pk": others.pk}), {"body": "x"})
    client.post(reverse("reviews:helpful", kwargs={"pk": others.pk}))
    assert not Review.objects.filter(author=member).exists()
    assert not Comment.objects.exists() and others.helpful_votes.count() == 0
    client.logout()
    response = client.post(
        reverse("login"), {"username": "trouble", "password": "battle-in-vegas-2014"}
    )
    assert "_auth_user_id" not in client.session
    assert "This account is suspended" in response.content.decode()
    wrong = client.post(reverse("login"), {"username": "trouble", "password": "a-wrong-guess"})
    assert "suspended" not in page_text(wrong)  # nothing revealed without the password


def test_suspending_can_hide_the_content_and_lifting_it_restores_sign_in(client, title):
    member = UserFactory(password="battle-in-vegas-2014")
    review(title=title, author=member, rating=3, body="To hide")
    account_services.account_suspend(
        member=member, moderator=None, reason="Spam", hide_content=True
    )
    assert Review.objects.get(author=member).status == Status.REMOVED
    assert Title.objects.get(pk=title.pk).rating_count == 0
    account_services.account_unsuspend(member=member, moderator=None)
    client.post(reverse("login"), {"username": member.username, "password": "battle-in-vegas-2014"})
    assert client.session["_auth_user_id"] == str(member.pk)
    actions = list(ModerationAction.objects.filter(member=member).values_list("action", flat=True))
    assert {"suspend", "remove", "unsuspend"} <= set(actions)


def test_moderators_suspend_from_the_admin_with_a_reason(client, moderator):
    member = UserFactory(username="spammer")
    url = reverse("admin:accounts_user_changelist")
    confirm = client.post(url, {"action": "suspend", "_selected_action": [member.pk]})
    assert "Suspend accounts" in confirm.content.decode()
    client.post(
        url, {"action": "suspend", "_selected_action": [member.pk], "apply": "1", "reason": "Spam"}
    )
    member.refresh_from_db()
    assert not member.is_active
    client.post(url, {"action": "unsuspend", "_selected_action": [member.pk]})
    member.refresh_from_db()
    assert member.is_active


def test_suspending_oneself_staff_without_being_a_superuser_or_a_closed_account_is_refused():
    moderator = moderator_account()
    colleague = UserFactory(username="colleague", is_staff=True)
    closed = UserFactory(username="closed", is_active=False)
    for member in (moderator, colleague, closed):
        with pytest.raises(account_services.SuspensionRefused):
            account_services.account_suspend(member=member, moderator=moderator, reason="x")
    with pytest.raises(account_services.SuspensionRefused):
        account_services.account_unsuspend(member=colleague, moderator=moderator)
    assert not ModerationAction.objects.exists()
    suspended = account_services.account_suspend(
        member=colleague, moderator=StaffUserFactory(), reason="x"
    )
    assert not suspended.is_active  # a superuser may suspend staff


def test_the_admin_shows_why_the_service_refused_a_suspension(client, moderator):
    colleague = UserFactory(username="colleague", is_staff=True)
    member = UserFactory(username="spammer")
    url = reverse("admin:accounts_user_changelist")
    selected = [colleague.pk, member.pk, moderator.pk]
    response = client.post(
        url,
        {"action": "suspend", "_selected_action": selected, "apply": "1", "reason": "Spam"},
        follow=True,
    )
    text = page_text(response)
    assert "Only a superuser can suspend or reinstate colleague, a staff account." in text
    assert "You cannot suspend or reinstate your own account, mod." in text
    assert "1 account suspended." in text
    for account in (colleague, member, moderator):
        account.refresh_from_db()
    assert (colleague.is_active, member.is_active, moderator.is_active) == (True, False, True)


def test_moderators_see_a_rating_as_stars_in_the_queue_and_on_the_review(client, moderator, title):
    half = review(title=title, rating=1, body="Not for me")
    three_and_a_half = review(title=title, rating=7, body="Good")
    rows = admin_rows(client.get(reverse("admin:reviews_review_changelist")))
    assert sorted(row[3] for row in rows) == ["3½ stars", "½ star"]
    page = client.get(reverse("admin:reviews_review_change", args=[half.pk]))
    [rating] = elements_with_class(page, "field-stars")
    assert text_of(rating) == "Rating: ½ star"
    assert not elements_with_class(page, "field-rating")  # the stored number, 1
    page = client.get(reverse("admin:reviews_review_change", args=[three_and_a_half.pk]))
    assert text_of(elements_with_class(page, "field-stars")[0]) == "Rating: 3½ stars"


# --- 6. Audit -----------------------------------------------------------------------------


def test_the_audit_trail_is_readable_in_the_admin_and_never_editable(client, moderator, title):
    target = review(title=title, body="x")
    moderation.content_moderate(
        item=target, status=Status.REMOVED, moderator=moderator, reason="Because"
    )
    record = ModerationAction.objects.get()
    [row] = admin_rows(client.get(reverse("admin:reviews_moderationaction_changelist")))
    assert "mod" in row and row[-1] == "Because"
    change_url = reverse("admin:reviews_moderationaction_change", args=[record.pk])
    assert client.get(change_url).status_code == 200  # a read-only view
    client.post(change_url, {"reason": "Rewritten"})
    record.refresh_from_db()
    assert record.reason == "Because"
    delete_url = reverse("admin:reviews_moderationaction_delete", args=[record.pk])
    assert client.post(delete_url, {"post": "yes"}).status_code == 403
    assert client.get(reverse("admin:reviews_moderationaction_add")).status_code == 403
    superuser = StaffUserFactory()
    client.force_login(superuser)
    assert client.post(delete_url, {"post": "yes"}).status_code == 403


# --- 7. Roles -----------------------------------------------------------------------------


def title_change_data(title, **changes):
    """What the admin's title page sends back, with no inline rows, with changes."""
    data = {
        "name_en": title.name,
        "slug": title.slug,
        "kind": title.kind,
        "franchise_position": title.franchise_position,
        "release_year": title.release_year,
    } | changes
    for prefix in ("credits", "routines", "trivia"):
        data |= {f"{prefix}-TOTAL_FORMS": 0, f"{prefix}-INITIAL_FORMS": 0}
    return data


def test_a_moderator_cannot_edit_the_catalog(client, title):
    client.force_login(moderator_account())
    change_url = reverse("admin:films_title_change", args=[title.pk])
    assert client.get(change_url).status_code == 403
    assert client.get(reverse("admin:films_title_changelist")).status_code == 403
    assert client.post(change_url, title_change_data(title, name_en="Renamed")).status_code == 403
    assert Title.objects.get(pk=title.pk).name == "Step Up: All In"
    assert client.get(reverse("admin:reviews_review_changelist")).status_code == 200


def test_an_editor_cannot_moderate(client, title):
    target = review(title=title, body="x")
    client.force_login(editor_account())
    assert client.get(reverse("admin:films_title_change", args=[title.pk])).status_code == 200
    assert client.get(reverse("admin:reviews_review_changelist")).status_code == 403
    assert client.get(reverse("admin:reviews_report_changelist")).status_code == 403
    queue_action(client, "review", "remove_with_reason", [target], apply="1", reason="x")
    target.refresh_from_db()
    assert target.status == Status.PUBLISHED
    assert client.get(reverse("admin:accounts_user_changelist")).status_code == 403


def test_superusers_can_do_both(client, title):
    target = review(title=title, body="x")
    client.force_login(StaffUserFactory())
    change_url = reverse("admin:films_title_change", args=[title.pk])
    assert client.get(change_url).status_code == 200
    response = client.post(change_url, title_change_data(title, name_en="Renamed"))
    assert response.status_code == 302
    assert Title.objects.get(pk=title.pk).name == "Renamed"
    assert client.get(reverse("admin:reviews_review_changelist")).status_code == 200
    queue_action(client, "review", "remove_with_reason", [target], apply="1", reason="Spam")
    target.refresh_from_db()
    assert (target.status, target.moderation_reason) == (Status.REMOVED, "Spam")


def test_the_roles_hold_exactly_their_permissions():
    moderators = set(
        Group.objects.get(name="Moderators").permissions.values_list("codename", flat=True)
    )
    assert moderators == {
        "view_review",
        "change_review",
        "view_comment",
        "change_comment",
        "view_report",
        "view_moderationaction",
        "view_user",
        "suspend_user",
        "view_routinerating",
    }
    editors = set(Group.objects.get(name="Editors").permissions.values_list("codename", flat=True))
    catalog = [
        "title",
        "person",
        "character",
        "credit",
        "crew",
        "crewmembership",
        "routine",
        "routinedancer",
        "trivia",
    ]
    assert editors == {
        f"{action}_{model}" for model in catalog for action in ("add", "change", "delete", "view")
    } | {"view_catalogseedrecord"}


# --- 8. The admin -------------------------------------------------------------------------


def test_the_admin_carries_the_sites_own_name(client, moderator):
    html = client.get(reverse("admin:index")).content.decode()
    assert "Step Up Community administration" in html


@pytest.mark.parametrize("model", ["review", "comment", "report"])
def test_queue_list_pages_keep_their_query_count_as_rows_grow(client, moderator, title, model):
    def grow(number):
        for _ in range(number):
            target = review(title=title, body="words")
            comment = services.comment_create(review=target, author=UserFactory(), body="c")
            services.report_create(reporter=UserFactory(), review=target, reason="spam", note="n")
            services.report_create(reporter=UserFactory(), comment=comment, reason="abuse")

    url = reverse(f"admin:reviews_{model}_changelist")
    grow(2)
    with CaptureQueriesContext(connection) as few:
        assert client.get(url).status_code == 200
    grow(20)
    # Reasons, notes and author history come from one prefetch and subqueries, not per row.
    with CaptureQueriesContext(connection) as many:
        assert client.get(url).status_code == 200
    assert len(many) == len(few)


# --- Routine ratings in a member's history -----------------------------------------------


def test_the_queue_counts_the_authors_routine_ratings_and_links_to_them(client, moderator, title):
    rater = UserFactory(username="rater")
    for routine in RoutineFactory.create_batch(2, title=title):
        routine_rating(routine=routine, member=rater, rating=9)
    routine_rating(rating=2)  # someone else's
    review(title=title, author=rater, body="Rated the routines too")
    review(title=title, body="Rated nothing")
    response = client.get(reverse("admin:reviews_review_changelist"))
    html = response.content.decode()
    ratings_url = reverse("admin:reviews_routinerating_changelist")
    assert f'<a href="{ratings_url}?member__id__exact={rater.pk}">2 routine ratings</a>' in html
    assert "1 item, 0 removed; no routine ratings" in page_text(response)
    listed = client.get(ratings_url, {"member__id__exact": rater.pk})
    assert listed.status_code == 200
    assert [row[1:3] for row in admin_rows(listed)] == [["rater", "4½ stars"]] * 2


def test_the_history_on_a_single_review_and_comment_counts_routine_ratings_too(
    client, moderator, title
):
    rater = UserFactory()
    routine_rating(member=rater)
    written = review(title=title, author=rater, body="Words")
    comment = services.comment_create(review=review(title=title), author=rater, body="Hi")
    for url in (
        reverse("admin:reviews_review_change", args=[written.pk]),
        reverse("admin:reviews_comment_change", args=[comment.pk]),
    ):
        [history] = elements_with_class(client.get(url), "field-author_history")
        assert text_of(history).endswith("; 1 routine rating"), url


def test_moderators_read_routine_ratings_and_nobody_changes_them_there(client, moderator):
    rating = routine_rating(rating=7)
    assert client.get(reverse("admin:reviews_routinerating_changelist")).status_code == 200
    page = client.get(reverse("admin:reviews_routinerating_change", args=[rating.pk]))
    assert page.status_code == 200 and 'name="rating"' not in page.content.decode()
    assert client.get(reverse("admin:reviews_routinerating_add")).status_code == 403
    delete_url = reverse("admin:reviews_routinerating_delete", args=[rating.pk])
    assert client.post(delete_url, {"post": "yes"}).status_code == 403
    client.force_login(editor_account())
    assert client.get(reverse("admin:reviews_routinerating_changelist")).status_code == 403


@pytest.mark.parametrize("value", ["abc", "99999999999999999999999", "-1", "1\x00"])
def test_a_forged_routine_filter_on_the_ratings_list_is_no_error_page(client, moderator, value):
    routine_rating()
    response = client.get(reverse("admin:reviews_routinerating_changelist"), {"routine": value})
    # NUL bytes are refused before any view (400); the rest list no rating.
    assert response.status_code == (400 if "\x00" in value else 200)
    if response.status_code == 200:
        assert not response.context["cl"].result_list


def test_the_routine_ratings_list_keeps_its_query_count_as_rows_grow(client, moderator, title):
    url = reverse("admin:reviews_routinerating_changelist")
    routines = RoutineFactory.create_batch(3, title=title)
    routine_rating(routine=routines[0])
    with CaptureQueriesContext(connection) as few:
        assert client.get(url).status_code == 200
    for routine in routines:
        for _ in range(8):
            routine_rating(routine=routine)
    # Routines with their titles and members are joined; the filters are one query each.
    with CaptureQueriesContext(connection) as many:
        assert client.get(url).status_code == 200
    assert len(many) == len(few)


# --- Holes closed after review ------------------------------------------------------------


def test_editors_see_no_hidden_content_on_the_public_site(client, title):
    hidden = review(title=title, body="Hidden")
    moderation.content_moderate(item=hidden, status=Status.REMOVED, moderator=None, reason="x")
    client.force_login(editor_account())
    assert client.get(hidden.get_absolute_url()).status_code == 404
    client.force_login(moderator_account())
    assert client.get(hidden.get_absolute_url()).status_code == 200


def test_hidden_items_cannot_be_reported_or_read_through_the_report_page(client, title):
    hidden = review(title=title, body="Secret words")
    comment = services.comment_create(review=hidden, author=UserFactory(), body="Hidden reply")
    moderation.content_moderate(item=hidden, status=Status.REMOVED, moderator=None, reason="x")
    client.force_login(UserFactory())
    review_report = reverse("reviews:report", kwargs={"pk": hidden.pk})
    comment_report = reverse("reviews:comment_report", kwargs={"pk": comment.pk})
    for url in (review_report, comment_report):
        shown = client.get(url)
        assert shown.status_code == 404, url
        assert "Secret words" not in page_text(shown) and "Hidden reply" not in page_text(shown)
        assert client.post(url, {"reason": "spam"}).status_code == 404, url
    assert not Report.objects.exists()
    assert client.get(reverse("reviews:helpful", kwargs={"pk": hidden.pk})).status_code == 404


def test_reports_never_bring_a_removed_item_back_to_pending(settings, title):
    settings.REPORTS_TO_HOLD = 1
    target = review(title=title, body="x")
    moderation.content_moderate(item=target, status=Status.REMOVED, moderator=None, reason="Spam")
    services.report_create(reporter=UserFactory(), review=target, reason="abuse")
    target.refresh_from_db()
    assert (target.status, target.moderation_reason) == (Status.REMOVED, "Spam")


def test_approving_answers_the_reports_so_the_next_one_does_not_hold_it_again(settings, title):
    settings.REPORTS_TO_HOLD = 2
    target = review(title=title, body="x")
    for _ in range(2):
        services.report_create(reporter=UserFactory(), review=target, reason="spam")
    target.refresh_from_db()
    assert target.status == Status.PENDING
    moderation.content_moderate(item=target, status=Status.PUBLISHED, moderator=moderator_account())
    assert not Report.objects.open().exists()
    services.report_create(reporter=UserFactory(), review=target, reason="spam")
    target.refresh_from_db()
    assert target.status == Status.PUBLISHED


def test_deleting_a_staff_pick_shows_the_previous_pick(title):
    moderator = moderator_account()
    older, newer = review(title=title, body="older"), review(title=title, body="newer")
    moderation.review_feature(review=older, moderator=moderator)
    moderation.review_feature(review=newer, moderator=moderator)
    assert Title.objects.get(pk=title.pk).featured_review_id == newer.pk
    services.review_delete(review=newer)
    assert Title.objects.get(pk=title.pk).featured_review_id == older.pk


def test_a_single_item_opens_read_only_for_moderators(client, moderator, title):
    target = review(title=title, body="Original")
    url = reverse("admin:reviews_review_change", args=[target.pk])
    assert client.get(url).status_code == 200
    client.post(url, {"body": "Rewritten", "status": "removed"})
    target.refresh_from_db()
    assert (target.body, target.status) == ("Original", Status.PUBLISHED)


def test_moderators_cannot_suspend_staff_and_lifting_never_revives_a_closed_account(
    client, moderator
):
    colleague = UserFactory(username="colleague", is_staff=True)
    closed = UserFactory(username="closed", is_active=False)
    url = reverse("admin:accounts_user_changelist")
    suspend = {"action": "suspend", "_selected_action": [colleague.pk], "apply": "1", "reason": "x"}
    client.post(url, suspend)
    colleague.refresh_from_db()
    assert colleague.is_active
    client.post(url, {"action": "unsuspend", "_selected_action": [closed.pk]})
    closed.refresh_from_db()
    assert not closed.is_active


def test_lifting_a_suspension_restores_what_it_hid_but_not_earlier_removals(title):
    member = UserFactory()
    earlier = review(title=title, author=member, body="Removed before")
    moderation.content_moderate(
        item=earlier, status=Status.REMOVED, moderator=None, reason="Spoilers"
    )
    other_title = TitleFactory()
    hidden = review(title=other_title, author=member, rating=8, body="Hidden by suspension")
    account_services.account_suspend(
        member=member, moderator=None, reason="Spam", hide_content=True
    )
    assert Title.objects.get(pk=other_title.pk).rating_count == 0
    account_services.account_unsuspend(member=member, moderator=moderator_account())
    hidden.refresh_from_db()
    earlier.refresh_from_db()
    assert hidden.status == Status.PUBLISHED and earlier.status == Status.REMOVED
    assert Title.objects.get(pk=other_title.pk).rating_count == 1


def test_the_record_keeps_the_moderators_name_after_their_account_goes(title):
    moderator = moderator_account()
    target = review(title=title, body="x")
    moderation.content_moderate(
        item=target, status=Status.REMOVED, moderator=moderator, reason="Spam"
    )
    account_services.account_delete(user=moderator)
    record = ModerationAction.objects.get(action="remove")
    assert record.moderator is None and record.moderator_username == "mod"


def test_authors_cannot_rewrite_a_removed_review(client, title):
    target = review(title=title, body="Original")
    moderation.content_moderate(item=target, status=Status.REMOVED, moderator=None, reason="Abuse")
    client.force_login(target.author)
    url = reverse("reviews:edit", kwargs={"slug": title.slug})
    assert client.get(url).status_code == 403
    assert client.post(url, {"rating": 5, "body": "Sneaky"}).status_code == 403
    target.refresh_from_db()
    assert target.body == "Original"


def test_while_reviews_are_held_edited_words_wait_for_a_moderator_again(settings, title):
    target = review(title=title, rating=6, body="Approved words")
    settings.REVIEWS_HOLD_NEW = True
    services.review_submit(title=title, author=target.author, rating=6, body="New words")
    target.refresh_from_db()
    assert target.status == Status.PENDING
    assert Title.objects.get(pk=title.pk).rating_count == 0


def test_the_report_that_hides_a_review_returns_the_reporter_to_the_title_not_a_404(
    settings, client, title
):
    settings.REPORTS_TO_HOLD = 1
    target = review(title=title, body="x")
    client.force_login(UserFactory())
    response = client.post(
        reverse("reviews:report", kwargs={"pk": target.pk}), {"reason": "spam"}, follow=True
    )
    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == title.get_absolute_url()


def test_a_held_review_says_it_waits_for_a_moderator(settings, client, title):
    settings.REVIEWS_HOLD_NEW = True
    client.force_login(UserFactory())
    response = client.post(
        reverse("reviews:edit", kwargs={"slug": title.slug}), {"rating": 7}, follow=True
    )
    html = response.content.decode()
    assert "will appear once a moderator approves it" in html
    assert "Your review is posted." not in html


# --- A moderator's decision holds against its author ---------------------------------------


def delete_url(title):
    return reverse("reviews:delete", kwargs={"slug": title.slug})


def own_card(html):
    """The author's own review card at the top of a title page."""
    card = html[html.index('id="own-review"') :]
    return card[: card.index("</article>")]


@pytest.mark.parametrize("status", [Status.REMOVED, Status.PENDING])
def test_the_author_cannot_delete_a_removed_or_held_review_to_post_a_fresh_one(title, status):
    target = review(title=title, rating=2, body="Moderated words")
    moderation.content_moderate(
        item=target, status=status, moderator=moderator_account(), reason="Abuse"
    )
    with pytest.raises(services.ModerationHold) as refused:
        services.review_delete(review=target)
    assert "moderator" in str(refused.value)
    assert Review.objects.filter(pk=target.pk, status=status).exists()
    # One review per member per title: with the moderated one kept, a new one is an edit.
    if status == Status.REMOVED:
        with pytest.raises(services.ModerationHold):
            services.review_submit(title=title, author=target.author, rating=10, body="Fresh")
    else:
        services.review_submit(title=title, author=target.author, rating=10, body="Fresh")
    assert list(Review.objects.filter(author=target.author).values_list("status", flat=True)) == [
        status
    ]
    assert Title.objects.get(pk=title.pk).rating_count == 0


def test_the_rule_is_read_from_the_stored_review_not_the_callers_stale_copy(title):
    target = review(title=title, body="Words")
    stale = Review.objects.get(pk=target.pk)  # read while it was published
    moderation.content_moderate(item=target, status=Status.REMOVED, moderator=None, reason="Abuse")
    with pytest.raises(services.ModerationHold):
        services.review_delete(review=stale)
    assert Review.objects.filter(pk=target.pk).exists()


def test_editing_a_held_review_keeps_it_held_whatever_the_hold_settings_now_say(settings, title):
    settings.REVIEWS_HOLD_NEW = True
    held = review(title=title, rating=4, body="First words")
    assert held.status == Status.PENDING
    settings.REVIEWS_HOLD_NEW = False
    edited, created = services.review_submit(
        title=title, author=held.author, rating=9, body="Other words"
    )
    assert not created and edited.pk == held.pk
    assert edited.status == Status.PENDING
    held.refresh_from_db()
    assert (held.status, held.rating, held.body) == (Status.PENDING, 9, "Other words")
    assert Title.objects.get(pk=title.pk).rating_count == 0


def test_a_review_held_by_reports_stays_held_when_its_author_edits_it(settings, title):
    settings.REPORTS_TO_HOLD = 1
    target = review(title=title, rating=3, body="Reported words")
    services.report_create(reporter=UserFactory(), review=target, reason="abuse")
    services.review_submit(title=title, author=target.author, rating=3, body="Cleaned up")
    target.refresh_from_db()
    assert target.status == Status.PENDING
    with pytest.raises(services.ModerationHold):
        services.review_delete(review=target)


@pytest.mark.parametrize("status", [Status.REMOVED, Status.PENDING])
def test_restoring_or_approving_lifts_the_hold(title, status):
    target = review(title=title, rating=6, body="Words")
    moderation.content_moderate(item=target, status=status, moderator=None, reason="Abuse")
    moderation.content_moderate(item=target, status=Status.PUBLISHED, moderator=moderator_account())
    services.review_delete(review=target)
    assert not Review.objects.filter(pk=target.pk).exists()
    fresh = review(title=title, author=target.author, rating=8, body="Fresh")
    assert fresh.status == Status.PUBLISHED
    assert Title.objects.get(pk=title.pk).rating_count == 1


def test_the_author_cannot_edit_or_delete_a_removed_comment(title):
    target = review(title=title, body="Review")
    comment = services.comment_create(review=target, author=UserFactory(), body="Rude words")
    moderation.content_moderate(item=comment, status=Status.REMOVED, moderator=None, reason="Abuse")
    stale = Comment.objects.get(pk=comment.pk)
    stale.status = Status.PUBLISHED  # a copy read before the removal
    with pytest.raises(services.ModerationHold):
        services.comment_update(comment=stale, body="Polite words")
    with pytest.raises(services.ModerationHold):
        services.comment_delete(comment=stale)
    comment.refresh_from_db()
    assert (comment.status, comment.body) == (Status.REMOVED, "Rude words")
    target.refresh_from_db()
    assert target.comment_count == 0
    # Restored, it is the author's again.
    moderation.content_moderate(item=comment, status=Status.PUBLISHED, moderator=None)
    services.comment_update(comment=comment, body="Polite words")
    services.comment_delete(comment=comment)
    target.refresh_from_db()
    assert target.comment_count == 0 and not Comment.objects.exists()


def test_deleting_the_account_still_takes_moderated_reviews_and_comments(title):
    leaving = UserFactory()
    removed = review(title=title, author=leaving, rating=2, body="Removed")
    other_title = TitleFactory()
    held = review(title=other_title, author=leaving, rating=5, body="Held")
    comment = services.comment_create(
        review=review(title=title, rating=9, body="Other"), author=leaving, body="Rude"
    )
    moderation.content_moderate(item=removed, status=Status.REMOVED, moderator=None, reason="Abuse")
    moderation.content_moderate(item=held, status=Status.PENDING, moderator=None)
    moderation.content_moderate(item=comment, status=Status.REMOVED, moderator=None, reason="Abuse")
    account_services.account_delete(user=leaving)
    assert not Review.objects.filter(author_id=leaving.pk).exists()
    assert not Comment.objects.filter(author_id=leaving.pk).exists()
    for each in (title, other_title):
        stored = Title.objects.get(pk=each.pk)
        recount = services.title_aggregates_recount(each)
        assert (stored.rating_count, stored.rating_sum) == (
            recount["rating_count"],
            recount["rating_sum"],
        )


@pytest.mark.parametrize("status", [Status.REMOVED, Status.PENDING])
def test_direct_requests_cannot_delete_a_removed_or_held_review(client, title, status):
    target = review(title=title, rating=2, body="Moderated words")
    moderation.content_moderate(item=target, status=status, moderator=None, reason="Off-topic")
    client.force_login(target.author)
    for response in (client.get(delete_url(title)), client.post(delete_url(title))):
        assert response.status_code == 403
        assert "moderator" in response.content.decode()
    assert Review.objects.filter(pk=target.pk, status=status).exists()


def test_direct_requests_cannot_replace_a_removed_review(client, title):
    target = review(title=title, rating=2, body="Moderated words")
    moderation.content_moderate(item=target, status=Status.REMOVED, moderator=None, reason="Abuse")
    client.force_login(target.author)
    url = reverse("reviews:edit", kwargs={"slug": title.slug})
    for data in ({"rating": 10}, {"rating": 10, "body": "Fresh words"}):
        response = client.post(url, data)
        assert response.status_code == 403
        assert "A moderator removed this review" in response.content.decode()
    assert list(Review.objects.values_list("pk", "body")) == [(target.pk, "Moderated words")]


def test_editing_a_held_review_through_the_form_keeps_it_held(settings, client, title):
    settings.REVIEWS_HOLD_NEW = True
    held = review(title=title, rating=4, body="First words")
    settings.REVIEWS_HOLD_NEW = False
    client.force_login(held.author)
    response = client.post(
        reverse("reviews:edit", kwargs={"slug": title.slug}),
        {"rating": 9, "body": "Other words"},
        follow=True,
    )
    assert "will appear once a moderator approves it" in response.content.decode()
    held.refresh_from_db()
    assert (held.status, held.body) == (Status.PENDING, "Other words")


@pytest.mark.parametrize("name", ["comment_edit", "comment_delete"])
def test_direct_requests_cannot_edit_or_delete_a_removed_comment(client, title, name):
    target = review(title=title, body="Review")
    comment = services.comment_create(review=target, author=UserFactory(), body="Rude words")
    moderation.content_moderate(item=comment, status=Status.REMOVED, moderator=None, reason="Abuse")
    client.force_login(comment.author)
    url = reverse(f"reviews:{name}", kwargs={"pk": comment.pk})
    for response in (client.get(url), client.post(url, {"body": "Polite words"})):
        assert response.status_code == 403
        assert "A moderator removed this comment" in response.content.decode()
    comment.refresh_from_db()
    assert (comment.status, comment.body) == (Status.REMOVED, "Rude words")


def test_the_author_sees_the_decision_and_no_button_it_would_refuse_on_cached_pages(client, title):
    target = review(title=title, rating=2, body="My words")
    client.force_login(target.author)
    assert f'href="{delete_url(title)}"' in own_card(client.get(title.get_absolute_url()).text)

    # The pages the author was just shown are in the cache: a moderator's decision replaces them.
    moderation.content_moderate(item=target, status=Status.PENDING, moderator=None)
    card = own_card(client.get(title.get_absolute_url()).text)
    assert "Waiting for a moderator" in card
    assert f'href="{reverse("reviews:edit", kwargs={"slug": title.slug})}"' in card
    assert f'href="{delete_url(title)}"' not in card

    moderation.content_moderate(
        item=target, status=Status.REMOVED, moderator=None, reason="Spoilers"
    )
    for url in (title.get_absolute_url(), target.get_absolute_url()):
        html = client.get(url).text
        card = own_card(html) if url == title.get_absolute_url() else html
        assert "Removed by a moderator" in card and "Reason: Spoilers" in card
        assert f'href="{delete_url(title)}"' not in card
        assert f'href="{reverse("reviews:edit", kwargs={"slug": title.slug})}"' not in card
        assert 'class="review-form"' not in html  # no form offering a second review


def test_the_author_sees_a_removed_comment_with_the_reason_and_no_edit_or_delete(client, title):
    target = review(title=title, body="Review")
    comment = services.comment_create(review=target, author=UserFactory(), body="Rude words")
    client.force_login(comment.author)
    edit = reverse("reviews:comment_edit", kwargs={"pk": comment.pk})
    assert f'href="{edit}"' in client.get(target.get_absolute_url()).text
    moderation.content_moderate(item=comment, status=Status.REMOVED, moderator=None, reason="Abuse")
    html = client.get(target.get_absolute_url()).text
    assert "Removed by a moderator" in html and "Reason: Abuse" in html
    assert f'href="{edit}"' not in html
    assert f'href="{reverse("reviews:comment_delete", kwargs={"pk": comment.pk})}"' not in html


def test_a_held_comment_cannot_be_deleted_and_posted_again_to_escape_the_hold(client, title):
    target = review(title=title, body="Review")
    author = UserFactory()
    held = services.comment_create(review=target, author=author, body="Buy cheap watches")
    moderation.content_moderate(item=held, status=Status.PENDING, moderator=None)
    client.force_login(author)
    url = reverse("reviews:comment_delete", kwargs={"pk": held.pk})
    for response in (client.get(url), client.post(url)):
        assert response.status_code == 403
        assert "waiting for a moderator" in response.content.decode()
    with pytest.raises(services.ModerationHold):
        services.comment_delete(comment=held)
    held.refresh_from_db()
    assert held.status == Status.PENDING
    # Editing it is still the author's, and it stays held.
    services.comment_update(comment=held, body="Sorry, no link")
    held.refresh_from_db()
    assert (held.status, held.body) == (Status.PENDING, "Sorry, no link")
    # No Delete offered on the review's page for the held comment.
    html = client.get(target.get_absolute_url()).text
    assert f'href="{url}"' not in html
