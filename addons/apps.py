from django.apps import AppConfig


class AddonsConfig(AppConfig):
    name = "addons"
    label = "addons"
    verbose_name = "Addons"
