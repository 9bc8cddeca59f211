"""The addons this Hearth provides, by manifest name.

Each sub-package registers itself with `@register`; `ADDON_MODULES` lists them so importing the
registry loads them all. Code elsewhere looks addons up here, never by comparing names.
"""

from __future__ import annotations

from importlib import import_module

from addons.base import Addon

ADDON_MODULES = (
    "addons.localstorage.addon",
    "addons.mysql.addon",
    "addons.postgresql.addon",
    "addons.redis.addon",
    "addons.sendmail.addon",
    "addons.scheduler.addon",
    "addons.oidc.addon",
    "addons.ldap.addon",
    "addons.proxyauth.addon",
)

ADDONS: dict[str, Addon] = {}


def register(cls: type[Addon]) -> type[Addon]:
    ADDONS[cls.name] = cls()
    return cls


def get_addon(name: str) -> Addon | None:
    _load()
    return ADDONS.get(name)


def all_addons() -> list[Addon]:
    _load()
    return [ADDONS[name] for name in sorted(ADDONS)]


def _load() -> None:
    for module in ADDON_MODULES:
        import_module(module)
