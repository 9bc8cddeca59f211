from django.apps import AppConfig


class AppsStoreConfig(AppConfig):
    name = "apps_store"
    label = "apps_store"
    verbose_name = "App Store"
