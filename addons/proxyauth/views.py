"""The panel's side of the proxyAuth login wall.

nginx asks `check` before every request to a protected app (auth_request). Someone without a
valid cookie is sent through `login` (on the app's host) to `authorize` (on the dashboard,
where they are signed in), which hands a one-minute code back to `callback` on the app's host;
that sets the app's own cookie. The access rule is checked at authorize and at every check.
"""

from __future__ import annotations

import base64
import uuid
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.views import redirect_to_login
from django.core import signing
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.http import require_GET

from addons.oidc.adapter import dashboard_origin
from panel.accounts.services import check_person_password, may_use_app
from panel.core.events import record_event
from panel.core.models import AppInstance, Event

COOKIE = "hearth_sso"
COOKIE_SALT = "hearth.proxyauth.session"
CODE_SALT = "hearth.proxyauth.code"
SESSION_SECONDS = 12 * 3600
CODE_SECONDS = 60


def _app(hex_id: str) -> AppInstance | None:
    try:
        app_id = uuid.UUID(hex_id)
    except (ValueError, TypeError, AttributeError):
        return None
    return AppInstance.objects.select_related("domain").filter(pk=app_id).first()


def _options(app: AppInstance) -> dict:
    return (app.manifest.get("addons") or {}).get("proxyAuth") or {}


def _safe_next(value: str) -> str:
    """Only a path on the same host: never an open redirect."""
    if not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value


def _basic_auth_user(request: HttpRequest, app: AppInstance):
    header = request.headers.get("Authorization", "")
    if not header.startswith("Basic "):
        return None
    try:
        username, _, password = base64.b64decode(header[6:]).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        return None
    user = get_user_model().objects.filter(username__iexact=username, is_active=True).first()
    if user is None or not check_person_password(user, password, app):
        return None
    return user


@require_GET
def check(request: HttpRequest) -> HttpResponse:
    """200 (with the username) to let the request through, 401 to send the visitor to log in."""
    app = _app(request.GET.get("app", ""))
    if app is None or app.fqdn != request.get_host().split(":")[0]:
        return HttpResponse(status=404)
    options = _options(app)
    if options.get("supportsBearerAuth") and request.headers.get("Authorization", "").startswith(
        "Bearer "
    ):
        return HttpResponse(status=200)  # the app checks its own tokens
    user = _basic_auth_user(request, app) if options.get("basicAuth") else None
    if user is None:
        try:
            session = signing.loads(
                request.COOKIES.get(COOKIE, ""), salt=COOKIE_SALT, max_age=SESSION_SECONDS
            )
        except signing.BadSignature:
            return HttpResponse(status=401)
        if session.get("a") != app.id.hex:
            return HttpResponse(status=401)
        user = get_user_model().objects.filter(pk=session.get("u"), is_active=True).first()
    if user is None or not may_use_app(user, app):
        return HttpResponse(status=401)
    response = HttpResponse(status=200)
    response["X-Hearth-User"] = user.get_username()
    return response


@require_GET
def login(request: HttpRequest) -> HttpResponse:
    """On the app's host: off to the dashboard to sign in (or to be recognised)."""
    app = _app(request.GET.get("app", ""))
    if app is None or app.fqdn != request.get_host().split(":")[0]:
        return HttpResponse(status=404)
    wanted = _safe_next(request.headers.get("X-Original-URI") or request.GET.get("next", "/"))
    query = urlencode({"app": app.id.hex, "next": wanted})
    return HttpResponseRedirect(
        f"{dashboard_origin(app.domain.name)}/sso/proxy-auth/authorize?{query}"
    )


@require_GET
def authorize(request: HttpRequest) -> HttpResponse:
    """On the dashboard: the signed-in person may use the app, so hand the app host a code."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    app = _app(request.GET.get("app", ""))
    if app is None or "proxyAuth" not in (app.manifest.get("addons") or {}):
        return HttpResponse("No such app.", status=404, content_type="text/plain")
    if not may_use_app(request.user, app):
        record_event(
            "sso_refused",
            app=app,
            actor=request.user,
            outcome=Event.Outcome.FAILED,
            message="login wall: not in the app's access rule",
        )
        return render(request, "addons/sso_refused.html", {"app": app}, status=403)
    code = signing.dumps({"u": request.user.pk, "a": app.id.hex}, salt=CODE_SALT)
    record_event("sso_grant", app=app, actor=request.user, message="login wall")
    query = urlencode({"code": code, "next": _safe_next(request.GET.get("next", "/"))})
    return HttpResponseRedirect(f"{_app_origin(app, request)}/.hearth-sso/callback?{query}")


def _app_origin(app: AppInstance, request: HttpRequest) -> str:
    port = settings.HEARTH_HTTP_LISTEN.rsplit(":", 1)[-1]
    return f"http://{app.fqdn}" + ("" if port in ("80", "443") else f":{port}")


@require_GET
def callback(request: HttpRequest) -> HttpResponse:
    """On the app's host: turn the code into the app's own session cookie."""
    try:
        grant = signing.loads(request.GET.get("code", ""), salt=CODE_SALT, max_age=CODE_SECONDS)
    except signing.BadSignature:
        return HttpResponse(
            "This sign-in link expired; open the app again.", status=400, content_type="text/plain"
        )
    app = _app(grant.get("a", ""))
    if app is None or app.fqdn != request.get_host().split(":")[0]:
        return HttpResponse(status=400)
    response = HttpResponseRedirect(_safe_next(request.GET.get("next", "/")))
    response.set_cookie(
        COOKIE,
        signing.dumps({"u": grant["u"], "a": app.id.hex}, salt=COOKIE_SALT),
        max_age=SESSION_SECONDS,
        httponly=True,
        samesite="Lax",
        secure=request.headers.get("X-Forwarded-Proto") == "https",
    )
    return response


@require_GET
def logout(request: HttpRequest) -> HttpResponse:
    response = HttpResponseRedirect("/")
    response.delete_cookie(COOKIE)
    return response
