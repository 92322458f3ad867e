from django.urls import path

from insights import api

app_name = "insights_api"

urlpatterns = [
    path("page-views", api.page_views, name="page-views"),
    path("search-activities", api.search_activities, name="search-activities"),
    path("user-countries", api.user_countries, name="user-countries"),
    path("page-activities", api.page_activities, name="page-activities"),
]
