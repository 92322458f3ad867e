from django.urls import path

from operations import views

app_name = "operations_api"

# The five APIs, staff only (401/403 JSON otherwise).
urlpatterns = [
    path("system-metrics", views.api_system_metrics, name="system-metrics"),
    path("performance-metrics", views.api_performance_metrics, name="performance-metrics"),
    path("alerts", views.api_alerts, name="alerts"),
    path("redis-info", views.api_redis_info, name="redis-info"),
    path("configuration", views.api_configuration, name="configuration"),
]
