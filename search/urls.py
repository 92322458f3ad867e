from django.urls import path

from search import views

urlpatterns = [
    path("", views.search_page, name="search"),
    path("movies/<int:movie_id>/", views.movie_page, name="movie"),
    path("api/search", views.api_search, name="api-search"),
    path("api/search/suggest", views.api_suggest, name="api-suggest"),
]
