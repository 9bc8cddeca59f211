from django.urls import path

from apps_store import api

app_name = "store_api"

urlpatterns = [
    path("index.json", api.store_index, name="index"),
    path("key", api.store_key, name="key"),
]
