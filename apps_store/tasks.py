from __future__ import annotations

from celery import shared_task


@shared_task(name="apps_store.sync_stores")
def sync_stores() -> list[str]:
    """Beat: sync every configured store, then mark installed apps with a newer release."""
    from apps_store.sync import sync_stores as sync_all

    reports, errors = sync_all()
    return [str(report) for report in reports] + errors


@shared_task(name="apps_store.check_for_updates")
def check_for_updates() -> int:
    from apps_store.updates import check_for_updates as check

    return len(check())
