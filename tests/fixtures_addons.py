"""Fixtures of the addons' end-to-end tests (service containers shared per session)."""
