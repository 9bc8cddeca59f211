from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("accounts/", include("allauth.urls")),
    path("django-admin/", admin.site.urls),
    path("store/", include("apps_store.urls")),
    path("addons/", include("addons.urls")),
    path("domains/", include("panel.domains.urls")),
    path("api/v1/store/", include("apps_store.api_urls")),
    path("", include("panel.monitoring.urls")),
    path("", include("panel.accounts.urls")),
    path("", include("panel.core.urls")),
]
