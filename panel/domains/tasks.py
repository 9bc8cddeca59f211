from __future__ import annotations

from celery import shared_task


@shared_task(name="domains.renew_certificates")
def renew_certificates() -> dict[str, int]:
    """Beat, hourly: renew what is within HEARTH_CERT_RENEW_DAYS of expiry (see services)."""
    from panel.domains.services import renew_due_certificates

    return renew_due_certificates()
