"""Times in the reader's time zone.

The zone comes from a cookie: `hearth_tz` when the reader picked one (the time zone page, a
plain form), else `hearth_browser_tz`, which live.js sets from the browser's own zone. The
middleware activates it for the request; templates then render every datetime in it.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable
from functools import cache
from urllib.parse import unquote

from django.http import HttpRequest, HttpResponse
from django.utils import timezone

CHOSEN_COOKIE = "hearth_tz"
BROWSER_COOKIE = "hearth_browser_tz"
COOKIE_AGE = 365 * 24 * 3600


@cache
def available_zones() -> tuple[str, ...]:
    return tuple(sorted(zoneinfo.available_timezones()))


def parse_zone(name: str | None) -> zoneinfo.ZoneInfo | None:
    """The zone of that IANA name, or None for anything else (never raises)."""
    if not name or name not in available_zones():
        return None
    return zoneinfo.ZoneInfo(name)


def zone_for(request: HttpRequest) -> zoneinfo.ZoneInfo | None:
    # The browser's cookie is URL-encoded by live.js ("Europe%2FParis").
    return parse_zone(request.COOKIES.get(CHOSEN_COOKIE)) or parse_zone(
        unquote(request.COOKIES.get(BROWSER_COOKIE, ""))
    )


class TimezoneMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        zone = zone_for(request)
        if zone is None:
            timezone.deactivate()
        else:
            timezone.activate(zone)
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
