from django.urls import path

from panel.accounts import views

app_name = "accounts"

urlpatterns = [
    path("profile/", views.profile, name="profile"),
    path("profile/app-passwords/", views.app_password_create, name="app_password_create"),
    path(
        "profile/app-passwords/<int:password_id>/delete/",
        views.app_password_delete,
        name="app_password_delete",
    ),
    path("people/", views.people, name="people"),
    path("people/<int:user_id>/role/", views.change_role, name="change_role"),
    path("people/security/", views.security_policy, name="security_policy"),
    path("groups/", views.groups, name="groups"),
    path("groups/<int:group_id>/", views.group_members, name="group_members"),
    path("access/<uuid:app_id>/", views.app_access, name="app_access"),
    path("invitations/<str:token>/", views.accept, name="accept"),
]
