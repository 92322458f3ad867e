from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponseRedirect
from django.templatetags.static import static
from django.urls import include, path

from config.health import redis_health_view
from config.openapi import openapi_view
from operations.views import metrics as operations_metrics


def favicon(request: HttpRequest) -> HttpResponseRedirect:
    """Browsers ask for /favicon.ico on pages that name no icon (the admin's); without
    this, every admin page logs a 404 in the console."""
    return HttpResponseRedirect(static("favicon.svg"))


urlpatterns = [
    path("favicon.ico", favicon, name="favicon"),
    path("health/redis", redis_health_view, name="health-redis"),
    path("admin/", admin.site.urls),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("operations/", include("operations.urls")),
    path("api/operations/", include("operations.api_urls")),
    path("metrics", operations_metrics, name="metrics"),
    path("api/openapi.json", openapi_view, name="api-openapi"),
    path("insights/", include("insights.urls")),
    path("api/analytics/", include("insights.api_urls")),
    path("", include("search.urls")),
]
