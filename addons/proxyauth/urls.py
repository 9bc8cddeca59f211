from django.urls import path

from addons.proxyauth import views

app_name = "proxyauth"

urlpatterns = [
    path("check", views.check, name="check"),
    path("login", views.login, name="login"),
    path("authorize", views.authorize, name="authorize"),
    path("callback", views.callback, name="callback"),
    path("logout", views.logout, name="logout"),
]
