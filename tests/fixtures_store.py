"""Fixtures of the App Store's tests."""
