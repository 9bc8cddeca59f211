from django.contrib import admin
from django.urls import include, path

from addons.oidc.views import authorization as oidc_authorization

urlpatterns = [
    path("accounts/", include("allauth.urls")),
    # Before allauth's own view at the same path: Hearth applies the app's access rule first.
    path("identity/o/authorize", oidc_authorization),
    path("", include("allauth.idp.urls")),
    path("sso/proxy-auth/", include("addons.proxyauth.urls")),
    path("django-admin/", admin.site.urls),
    path("store/", include("apps_store.urls")),
    path("addons/", include("addons.urls")),
    path("domains/", include("panel.domains.urls")),
    path("backups/", include("panel.backups.urls")),
    path("api/v1/store/", include("apps_store.api_urls")),
    path("api/v1/", include("panel.backups.api_urls")),
    path("api/v1/", include("panel.domains.api_urls")),
    path("", include("panel.monitoring.urls")),
    path("", include("panel.accounts.urls")),
    path("", include("panel.core.urls")),
]
