from __future__ import annotations

from celery import shared_task


# Beat runs both every minute; each run is bounded by the number of apps (one Docker call
# and one probe per app, all with timeouts).
@shared_task(name="monitoring.check_health")
def check_health() -> dict[str, str]:
    from panel.monitoring.services import check_all_apps_health, check_disk_space

    check_disk_space()
    return check_all_apps_health()


@shared_task(name="monitoring.sample_metrics")
def sample_metrics() -> int:
    from panel.monitoring.metrics import sample_metrics as sample

    return len(sample())


@shared_task(name="monitoring.rotate_logs")
def rotate_logs() -> int:
    from django.conf import settings

    from panel.monitoring.logrotate import rotate_logs as rotate
    from panel.monitoring.services import rotate_app_log_files

    home = settings.HEARTH_HOME
    platform = rotate([home / "log", settings.HEARTH_NGINX_DIR / "logs"])
    return len(platform) + len(rotate_app_log_files())
