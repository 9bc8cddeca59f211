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


@shared_task(name="apps_store.apply_auto_updates")
def apply_auto_updates() -> str:
    """Beat: queue at most one automatic update, inside the owner's update window."""
    from apps_store.updates import apply_auto_updates as apply

    run = apply()
    return str(run.queued or run.skipped or "nothing to update")
