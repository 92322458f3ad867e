"""A test-only URLconf: the insights URLs plus tiny pages and a search view that sets
`insights.searches.record_search` the way the search app does, so these tests never depend on
the search app's internals."""

from django.contrib.auth import views as auth_views
from django.http import HttpResponse, JsonResponse
from django.urls import include, path

from insights.searches import record_search


def page(request, **kwargs):
    return HttpResponse("<!doctype html><title>page</title><p>page</p>")


def plain(request):
    return HttpResponse("plain text", content_type="text/plain")


def redirect(request):
    return HttpResponse(status=302, headers={"Location": "/"})


def _annotate(request):
    record_search(
        request,
        query=request.GET.get("q", ""),
        result_count=int(request.GET.get("n", "3")),
        server_ms=float(request.GET.get("ms", "4.5")),
    )


def search(request):
    _annotate(request)
    return page(request)


def search_api(request):
    _annotate(request)
    return JsonResponse({"results": []})


urlpatterns = [
    path("insights/", include("insights.urls")),
    path("api/analytics/", include("insights.api_urls")),
    path("api/search", search_api, name="search-api"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/fake/", page, name="admin-fake"),
    path("static/fake.css", page, name="static-fake"),
    path("health/fake", page, name="health-fake"),
    path("movies/<int:pk>/", page, name="movie-detail"),
    path("search/", search, name="search"),
    path("plain/", plain, name="plain"),
    path("moved/", redirect, name="moved"),
    path("", page, name="home"),
]
