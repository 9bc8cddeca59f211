"""Addons: services Hearth provisions per app (databases, redis, mail, SSO, cron).

Each addon is a sub-package implementing provision, env, backup, restore and teardown, found
through a registry. The /app/data volume (localstorage) is created by the runtime today.
"""
