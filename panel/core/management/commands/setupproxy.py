from __future__ import annotations

from django.core.management.base import BaseCommand

from panel.domains.models import Domain
from panel.domains.services import ensure_default_domain
from panel.proxy.nginx import get_nginx
from panel.proxy.sites import write_dashboard_site


class Command(BaseCommand):
    help = "Write nginx's main config and the dashboard's server block; start or reload nginx."

    def handle(self, *args, **options) -> None:
        ensure_default_domain()
        nginx = get_nginx()
        nginx.ensure_running()
        write_dashboard_site(list(Domain.objects.values_list("name", flat=True)))
        self.stdout.write(f"nginx is serving from {nginx.main_config}")
