from __future__ import annotations

from allauth.account.adapter import DefaultAccountAdapter


class ClosedSignupAdapter(DefaultAccountAdapter):
    """Nobody signs up from the internet: the owner creates accounts."""

    def is_open_for_signup(self, request) -> bool:
        return False
