from django.urls import path

from operations import views

app_name = "operations"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("alerts/<str:alert_id>/acknowledge", views.acknowledge, name="acknowledge"),
]
