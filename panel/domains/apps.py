from django.apps import AppConfig


class DomainsConfig(AppConfig):
    name = "panel.domains"
    label = "domains"
