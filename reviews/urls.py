from django.urls import path

from . import feeds, views

app_name = "reviews"

urlpatterns = [
    path("titles/<slug:slug>/review/", views.review_edit, name="edit"),
    path("titles/<slug:slug>/review/delete/", views.review_delete, name="delete"),
    path("titles/<slug:slug>/reviews/rss/", feeds.TitleReviewsFeed(), name="title_rss"),
    path("titles/<slug:slug>/reviews/atom/", feeds.TitleReviewsAtomFeed(), name="title_atom"),
    path("reviews/<int:pk>/", views.review_detail, name="detail"),
    path("reviews/<int:pk>/helpful/", views.helpful_toggle, name="helpful"),
    path("reviews/<int:pk>/comments/", views.comment_create, name="comment_create"),
    path("reviews/<int:pk>/report/", views.review_report, name="report"),
    path("comments/<int:pk>/edit/", views.comment_edit, name="comment_edit"),
    path("comments/<int:pk>/delete/", views.comment_delete, name="comment_delete"),
    path("comments/<int:pk>/report/", views.comment_report, name="comment_report"),
    path("routines/<slug:slug>/rating/", views.routine_rate, name="routine_rate"),
    path(
        "routines/<slug:slug>/rating/remove/",
        views.routine_rating_remove,
        name="routine_rating_remove",
    ),
    path("reviews/rss/", feeds.LatestReviewsFeed(), name="rss"),
    path("reviews/atom/", feeds.LatestReviewsAtomFeed(), name="atom"),
]
