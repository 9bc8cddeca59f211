from django.urls import path

from panel.monitoring import views

app_name = "monitoring"

urlpatterns = [
    path("apps/<uuid:app_id>/logs/", views.app_logs, name="app_logs"),
    path("apps/<uuid:app_id>/logs/download/", views.app_logs_download, name="app_logs_download"),
    path("apps/<uuid:app_id>/graphs/", views.app_graphs, name="app_graphs"),
    path("apps/<uuid:app_id>/metrics.json", views.app_metrics, name="app_metrics"),
    path("apps/<uuid:app_id>/terminal/", views.app_terminal, name="app_terminal"),
    path("system/", views.system, name="system"),
    path("system/metrics.json", views.host_metrics, name="host_metrics"),
    path("system/images/clean/", views.clean_images, name="clean_images"),
    path("notifications/", views.notifications, name="notifications"),
    path("timezone/", views.choose_timezone, name="timezone"),
    path("notifications/read/", views.notifications_read, name="notifications_read"),
]
