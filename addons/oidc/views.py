"""The authorization step of Hearth's OpenID Connect provider, with the access rule.

allauth's view does the protocol; in front of it, Hearth refuses people whom the app's access
rule does not list, so an app never even sees them. Grants and refusals go to the event log.
"""

from __future__ import annotations

from allauth.idp.oidc.models import Client
from allauth.idp.oidc.views import authorization as allauth_authorization
from django.core.signing import BadSignature, Signer
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt

from panel.accounts.services import may_use_app
from panel.core.events import record_event
from panel.core.models import AppInstance, Event


def _client_id(request: HttpRequest) -> str:
    client_id = request.GET.get("client_id") or request.POST.get("client_id") or ""
    if not client_id and request.POST.get("request"):
        try:
            _, info = Signer().unsign_object(request.POST["request"])
        except BadSignature:
            return ""
        client_id = str(info.get("client_id", ""))
    return client_id


def app_for_client(client_id: str) -> AppInstance | None:
    client = Client.objects.filter(id=client_id).only("data").first()
    if client is None or not client.data:
        return None
    return AppInstance.objects.filter(pk=client.data.get("hearth_app")).first()


@csrf_exempt  # allauth's view enforces CSRF itself where the protocol allows it
def authorization(request: HttpRequest, *args, **kwargs) -> HttpResponse:
    app = app_for_client(_client_id(request)) if request.user.is_authenticated else None
    if app is not None and not may_use_app(request.user, app):
        record_event(
            "sso_refused",
            app=app,
            actor=request.user,
            outcome=Event.Outcome.FAILED,
            message="OpenID Connect: not in the app's access rule",
        )
        return render(request, "addons/sso_refused.html", {"app": app}, status=403)
    response = allauth_authorization(request, *args, **kwargs)
    location = response.get("Location", "")
    if app is not None and response.status_code == 302 and "code=" in location:
        record_event("sso_grant", app=app, actor=request.user, message="OpenID Connect")
    return response
