"""When the owner makes a second factor mandatory, nobody uses Hearth without one."""

from __future__ import annotations

from allauth.mfa.models import Authenticator
from django.shortcuts import redirect

from panel.accounts.models import SecurityPolicy

# Where someone without a second factor may still go: to set one up, or to leave.
ALLOWED_PREFIXES = ("/accounts/", "/static/", "/invitations/")


class RequireSecondFactorMiddleware:
    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and not request.path.startswith(ALLOWED_PREFIXES)
            and SecurityPolicy.current().require_mfa
            and not Authenticator.objects.filter(user=user).exists()
        ):
            return redirect("mfa_activate_totp")
        return self.get_response(request)
