from __future__ import annotations

from django.core.validators import RegexValidator
from django.db import models

DOMAIN_NAME_VALIDATOR = RegexValidator(
    r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$",
    "Enter a domain name in lower case, such as example.com.",
)


class TlsMode(models.TextChoices):
    # Plain HTTP only: for `localhost` and for hosts behind a TLS-terminating proxy.
    OFF = "off", "No certificate (HTTP only)"
    # One certificate per app, proven by a file nginx serves on port 80.
    ACME_HTTP = "acme-http", "Let's Encrypt per app (HTTP-01)"
    # One certificate per app, proven by a TXT record the DNS provider creates.
    ACME_DNS = "acme-dns", "Let's Encrypt per app (DNS-01)"
    # One *.domain certificate for every app: app names stay out of CT logs.
    ACME_WILDCARD = "acme-wildcard", "Let's Encrypt wildcard (DNS-01)"
    # The owner uploads certificates for the domain or per app.
    CUSTOM = "custom", "Uploaded certificates"


class Domain(models.Model):
    """A domain the owner serves apps on; each app lives at <subdomain>.<domain>."""

    name = models.CharField(max_length=253, unique=True, validators=[DOMAIN_NAME_VALIDATOR])
    created_at = models.DateTimeField(auto_now_add=True)
    provider = models.CharField(max_length=32, default="noop")
    provider_config = models.JSONField(default=dict, blank=True)
    tls_mode = models.CharField(max_length=16, choices=TlsMode.choices, default=TlsMode.OFF)
    # The address app records point at; empty means settings.HEARTH_PUBLIC_IPV4.
    ipv4 = models.GenericIPAddressField(protocol="IPv4", null=True, blank=True)
    ipv6 = models.GenericIPAddressField(protocol="IPv6", null=True, blank=True)
    # Home servers: the public IPv4 address is checked on a schedule and the records follow it.
    dynamic_dns = models.BooleanField(default=False)
    # App records as CNAMEs to this host (the owner's my.<domain>, a dynamic-DNS name...)
    # instead of A/AAAA: one name to move when the server's address changes.
    cname_target = models.CharField(max_length=253, blank=True, default="")

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def dashboard_host(self) -> str:
        return f"my.{self.name}"


class Certificate(models.Model):
    """A certificate and its key, for a whole domain (wildcard or uploaded) or for one app.

    The PEM text lives here (the database is backed up); nginx reads copies written under
    its own directory, replaced atomically so the old pair serves until the new one is in.
    """

    class Source(models.TextChoices):
        ACME = "acme"
        CUSTOM = "custom"

    domain = models.ForeignKey(Domain, on_delete=models.CASCADE, related_name="certificates")
    app = models.OneToOneField(
        "core.AppInstance",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="certificate",
    )
    source = models.CharField(max_length=8, choices=Source.choices)
    names = models.JSONField(default=list)
    fullchain_pem = models.TextField()
    key_pem = models.TextField()
    not_before = models.DateTimeField()
    not_after = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Renewal bookkeeping: failures back off instead of hammering the CA.
    renew_failures = models.PositiveIntegerField(default=0)
    next_renewal_attempt = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["domain__name", "id"]
        constraints = [
            # At most one domain-wide certificate per domain.
            models.UniqueConstraint(
                fields=["domain"],
                condition=models.Q(app__isnull=True),
                name="one_domain_certificate",
            )
        ]

    def __str__(self) -> str:
        return f"{', '.join(self.names)} until {self.not_after:%Y-%m-%d}"

    @property
    def file_stem(self) -> str:
        return f"app-{self.app_id.hex}" if self.app_id else f"domain-{self.domain.name}"


class LocationChange(models.Model):
    """Where an app lived before a location change task: the task moves DNS, certificate,
    nginx and the app's origin from here to the app's current subdomain and domain."""

    task = models.OneToOneField(
        "core.Task", on_delete=models.CASCADE, related_name="location_change"
    )
    old_subdomain = models.CharField(max_length=63)
    old_domain = models.ForeignKey(Domain, on_delete=models.PROTECT, related_name="+")
    # Every name the app answered to before, as [fqdn, domain id]: records of names it no
    # longer uses are removed at the end of the task.
    old_names = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"from {self.old_fqdn}"

    @property
    def old_fqdn(self) -> str:
        return f"{self.old_subdomain}.{self.old_domain.name}"


class AppAlias(models.Model):
    """Another name for an app: served by the app (an alias) or redirecting to its main name.

    Each has its DNS record, is in the app's certificate, and (for multiDomain apps) is
    listed in HEARTH_ALIAS_DOMAINS.
    """

    app = models.ForeignKey("core.AppInstance", on_delete=models.CASCADE, related_name="aliases")
    subdomain = models.CharField(max_length=63)
    domain = models.ForeignKey(Domain, on_delete=models.PROTECT, related_name="aliases")
    redirect = models.BooleanField(default=False)
    # An old location kept as a redirect "for a while": removed (with its DNS record, its
    # place in the certificate and nginx) once this passes; empty means until removed by hand.
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["domain__name", "subdomain"]
        constraints = [
            models.UniqueConstraint(fields=["subdomain", "domain"], name="unique_alias_location")
        ]

    def __str__(self) -> str:
        return f"{self.fqdn} ({'redirect' if self.redirect else 'alias'})"

    @property
    def fqdn(self) -> str:
        return f"{self.subdomain}.{self.domain.name}"
