from django.urls import path

from search import views as search_views

from . import views

app_name = "films"

urlpatterns = [
    path("", views.home, name="home"),
    path("titles/", views.title_list, name="title_list"),
    path("titles/<slug:slug>/", views.title_detail, name="title_detail"),
    path("titles/<slug:slug>/poster.png", views.generated_poster, name="generated_poster"),
    path("titles/<slug:slug>/share.png", views.share_image, name="share_image"),
    path("share.png", views.site_share_image, name="site_share_image"),
    path("people/", views.person_list, name="person_list"),
    path("people/<slug:slug>/", views.person_detail, name="person_detail"),
    path("characters/", views.character_list, name="character_list"),
    path("characters/<slug:slug>/", views.character_detail, name="character_detail"),
    path("crews/", views.crew_list, name="crew_list"),
    path("crews/<slug:slug>/", views.crew_detail, name="crew_detail"),
    path("routines/", views.routine_list, name="routine_list"),
    path("routines/<slug:slug>/", views.routine_detail, name="routine_detail"),
    path("franchise/", views.franchise, name="franchise"),
    # The site search is its own app; its page keeps the catalog's URL name.
    path("search/", search_views.search, name="search"),
]
