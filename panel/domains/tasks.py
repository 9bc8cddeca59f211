from __future__ import annotations

from celery import shared_task


@shared_task(name="domains.renew_certificates")
def renew_certificates() -> dict[str, int]:
    """Beat, hourly: renew what is within HEARTH_CERT_RENEW_DAYS of expiry (see services)."""
    from panel.domains.services import renew_due_certificates, warn_expiring_uploads

    counts = renew_due_certificates()
    counts["uploads_expiring"] = warn_expiring_uploads()
    return counts


@shared_task(name="domains.prepare_domain")
def prepare_domain_task(domain_id: int) -> None:
    """Dashboard site for the new domain, and its wildcard certificate if it uses one."""
    from panel.domains.models import Domain
    from panel.domains.services import prepare_domain

    domain = Domain.objects.filter(pk=domain_id).first()
    if domain is not None:
        prepare_domain(domain)


@shared_task(name="domains.update_dynamic_dns")
def update_dynamic_dns() -> dict[str, int]:
    """Beat, every 5 minutes: follow a changed public address (see services)."""
    from panel.domains.services import update_dynamic_dns as update

    return update()


@shared_task(name="domains.reapply_firewall")
def reapply_firewall() -> str:
    """After apps' host ports changed: load the host firewall again where Hearth manages it."""
    from panel.domains.host_firewall import reapply_if_managed

    return reapply_if_managed()


@shared_task(name="domains.expire_redirects")
def expire_redirects() -> dict[str, int]:
    """Beat, hourly: old locations kept as redirects for a while go when their time is over."""
    from panel.domains.services import expire_redirects as expire

    return expire()


@shared_task(name="domains.refresh_app_records")
def refresh_app_records_task(domain_id: int) -> dict[str, int]:
    """After a domain's record settings changed (CNAME target): every app's records again."""
    from panel.domains.models import Domain
    from panel.domains.services import refresh_app_records

    domain = Domain.objects.filter(pk=domain_id).first()
    return refresh_app_records(domain) if domain is not None else {}
