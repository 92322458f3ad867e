from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from config.health import redis_health_view

urlpatterns = [
    path("health/redis", redis_health_view, name="health-redis"),
    path("admin/", admin.site.urls),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", include("search.urls")),
]
