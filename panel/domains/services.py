"""Domains, their DNS records and certificates, in Hearth's terms.

The dashboard, the worker's install/uninstall steps and the renewal job call these. DNS goes
through the domain's provider (panel.domains.providers), certificates through the ACME
client (panel.domains.issuance), and nginx only through panel.proxy.
"""

from __future__ import annotations

import contextlib
import datetime
import fcntl
import ipaddress
import logging
import threading
from dataclasses import dataclass
from pathlib import Path

import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.utils import timezone

from panel.domains.certificates import (
    CertificateProblem,
    check_certificate,
    describe,
    name_is_covered,
)
from panel.domains.issuance import (
    AcmeSettings,
    DnsSolver,
    HttpSolver,
    IssuanceError,
    issue_certificate,
)
from panel.domains.models import DOMAIN_NAME_VALIDATOR, AppAlias, Certificate, Domain, TlsMode
from panel.domains.providers import PROVIDERS, DnsProvider, ProviderError, Record, get_provider
from panel.proxy.nginx import ProxyError, get_nginx
from panel.proxy.render import TlsFiles, https_port

log = logging.getLogger(__name__)

# Modes that prove control through TXT records, so they need a provider that writes DNS.
DNS01_MODES = {TlsMode.ACME_DNS, TlsMode.ACME_WILDCARD}


class DomainRejected(Exception):
    """A domain request cannot be carried out; `errors` maps form fields to what to fix."""

    def __init__(self, errors: dict[str, str]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{field}: {message}" for field, message in errors.items()))


class DnsStepFailed(Exception):
    """A DNS record or certificate step failed; the message names the record and why."""


def ensure_default_domain() -> Domain:
    """A fresh Hearth serves on one domain (`localhost` unless HEARTH_DOMAIN says otherwise)."""
    domain, _ = Domain.objects.get_or_create(name=settings.HEARTH_DEFAULT_DOMAIN)
    return domain


def domain_provider(domain: Domain) -> DnsProvider:
    return get_provider(domain.provider, domain.name, domain.provider_config)


# Adding and removing domains -------------------------------------------------------------
def add_domain(
    *,
    name: str,
    provider: str,
    provider_config: dict[str, str] | None = None,
    tls_mode: str = TlsMode.OFF,
    ipv4: str | None = None,
    ipv6: str | None = None,
    dynamic_dns: bool = False,
    cname_target: str = "",
) -> Domain:
    """Check everything (the provider's credentials against the real service too) before
    anything is stored; on any problem raise DomainRejected with field errors."""
    name = (name or "").strip().lower().rstrip(".")
    config = {k: str(v).strip() for k, v in (provider_config or {}).items() if v is not None}
    errors: dict[str, str] = {}
    try:
        DOMAIN_NAME_VALIDATOR(name)
        if "." not in name and name != "localhost":
            raise ValidationError("Enter a full domain name, such as example.com.")
    except ValidationError as exc:
        errors["name"] = " ".join(exc.messages)
    if "name" not in errors and Domain.objects.filter(name=name).exists():
        errors["name"] = f"{name} is already one of your domains."
    if provider not in PROVIDERS:
        errors["provider"] = "Choose one of the DNS providers."
    if tls_mode not in TlsMode.values:
        errors["tls_mode"] = "Choose one of the certificate options."
    elif provider in PROVIDERS and tls_mode in DNS01_MODES and not PROVIDERS[provider].automatic:
        errors["tls_mode"] = (
            f"{TlsMode(tls_mode).label} needs a DNS provider Hearth can write TXT records "
            "with (RFC 2136 or Route 53)."
        )
    if provider in PROVIDERS and dynamic_dns and not PROVIDERS[provider].automatic:
        errors["dynamic_dns"] = "Dynamic DNS needs a provider Hearth can write records with."
    cname_target = (cname_target or "").strip().lower().rstrip(".")
    if cname_target and (problem := cname_target_problem(cname_target, name)):
        errors["cname_target"] = problem
    if provider in PROVIDERS:
        errors.update(PROVIDERS[provider].config_errors(config))
    if not errors:
        try:
            get_provider(provider, name, config).verify()
        except ProviderError as exc:
            errors[exc.field or "provider"] = str(exc)
    if errors:
        raise DomainRejected(errors)
    try:
        with transaction.atomic():
            domain = Domain.objects.create(
                name=name,
                provider=provider,
                provider_config=config,
                tls_mode=tls_mode,
                ipv4=ipv4 or None,
                ipv6=ipv6 or None,
                dynamic_dns=dynamic_dns,
                cname_target=cname_target,
            )
            _enqueue_prepare(domain)
            return domain
    except IntegrityError:
        raise DomainRejected({"name": f"{name} is already one of your domains."}) from None


def cname_target_problem(target: str, domain_name: str) -> str:
    """Why `target` cannot be where a domain's app records point (CNAME), or ""."""
    from panel.core.models import AppInstance

    try:
        DOMAIN_NAME_VALIDATOR(target)
    except ValidationError:
        return "Enter a host name in lower case, such as my.example.com or home.dyndns.org."
    if "." not in target:
        return "Enter a full host name, such as my.example.com."
    if target == domain_name:
        # A CNAME at the apex is not allowed, and the apex has no record Hearth manages.
        return f"Point to a host name, not {domain_name} itself (for example my.{domain_name})."
    sub, _, parent = target.partition(".")
    if AppInstance.objects.filter(subdomain=sub, domain__name=parent).exists():
        return f"{target} is an app's own name: its record would point to itself."
    return ""


def set_cname_target(domain: Domain, target: str, user=None) -> Domain:
    """Point the domain's app records at `target` (a CNAME; "" for A/AAAA records again).
    The apps' records are then rewritten by a task, each switching kind in DNS."""
    from panel.core.events import record_event

    target = (target or "").strip().lower().rstrip(".")
    if target and (problem := cname_target_problem(target, domain.name)):
        raise DomainRejected({"cname_target": problem})
    with transaction.atomic():
        Domain.objects.filter(pk=domain.pk).update(cname_target=target)
        domain.cname_target = target
        record_event(
            "domain_records",
            app_label=domain.name,
            actor=user,
            message=f"app records: CNAME to {target}" if target else "app records: A/AAAA",
        )
        _enqueue_record_refresh(domain)
    return domain


def _enqueue_record_refresh(domain: Domain) -> None:
    from panel.domains.tasks import refresh_app_records_task

    transaction.on_commit(lambda: refresh_app_records_task.delay(domain.pk))


def refresh_app_records(domain: Domain) -> dict[str, int]:
    """Write every app's records on the domain again, as its settings now say; a failure
    is an event naming the record and why (the app keeps its previous record)."""
    from panel.core.events import record_event
    from panel.core.models import Event

    counts = {"updated": 0, "failed": 0}
    for app in domain.apps.select_related("domain"):
        try:
            create_app_records(app)
        except DnsStepFailed as exc:
            counts["failed"] += 1
            record_event("domain_records", app=app, outcome=Event.Outcome.FAILED, message=str(exc))
        else:
            counts["updated"] += 1
    return counts


def _enqueue_prepare(domain: Domain) -> None:
    from panel.domains.tasks import prepare_domain_task

    transaction.on_commit(lambda: prepare_domain_task.delay(domain.pk))


def remove_domain(domain: Domain) -> None:
    if domain.apps.exists() or domain.aliases.exists():
        raise DomainRejected(
            {"domain": f"Apps still live on {domain.name}; move or uninstall them first."}
        )
    for certificate in domain.certificates.all():
        remove_certificate_files(certificate)
    domain.delete()
    if get_nginx().is_running():
        try:
            _refresh_dashboard()
        except ProxyError as exc:
            log.warning("dashboard site after removing %s: %s", domain.name, exc)


# App records ---------------------------------------------------------------------------
@dataclass(frozen=True)
class HostName:
    """One name an app answers to: its main name, an alias, or a redirect to the main name."""

    domain: Domain
    fqdn: str
    redirect: bool = False


def app_hostnames(app) -> list[HostName]:
    aliases = AppAlias.objects.filter(app_id=app.pk).select_related("domain")
    return [HostName(app.domain, app.fqdn)] + [
        HostName(alias.domain, alias.fqdn, alias.redirect) for alias in aliases
    ]


APP_RECORD_TYPES = ("A", "AAAA", "CNAME")


def _records_for(domain: Domain, fqdn: str) -> list[Record]:
    if domain.cname_target:
        return [Record(fqdn, "CNAME", (domain.cname_target,))]
    ipv4 = domain.ipv4 or settings.HEARTH_PUBLIC_IPV4
    ipv6 = domain.ipv6 or settings.HEARTH_PUBLIC_IPV6
    records = []
    if ipv4:
        records.append(Record(fqdn, "A", (ipv4,)))
    if ipv6:
        records.append(Record(fqdn, "AAAA", (ipv6,)))
    return records


def app_records(app) -> list[Record]:
    """The records that make the app's names (main name, aliases, redirects) reach here."""
    return [r for host in app_hostnames(app) for r in _records_for(host.domain, host.fqdn)]


def create_app_records(app) -> list[str]:
    """Create the A/AAAA records of every name of the app; return notes for the task log.

    All or nothing: if one record fails, those made before it are removed again. Providers
    that cannot write (manual, noop, wildcard) get instructions and a DNS check instead.
    """
    notes: list[str] = []
    done: list[tuple[DnsProvider, Record]] = []
    for host in app_hostnames(app):
        provider = domain_provider(host.domain)
        records = _records_for(host.domain, host.fqdn)
        if not provider.automatic:
            notes += [n for n in (provider.instructions(r) for r in records) if n]
            check = getattr(provider, "check", None)
            for record in records if check else []:
                found = check(record)
                if found is not None:
                    notes.append(
                        f"{record.name} {record.rtype} is not there yet (DNS says: {found})"
                    )
            continue
        # A CNAME cannot share its name with other records: the kinds not wanted go first
        # (the domain may have switched between addresses and a CNAME target).
        for rtype in sorted(set(APP_RECORD_TYPES) - {record.rtype for record in records}):
            try:
                provider.delete_record(host.fqdn, rtype)
            except ProviderError as exc:
                for earlier_provider, earlier in done:
                    _quietly_delete(earlier_provider, earlier)
                what = records[0] if records else host.fqdn
                raise DnsStepFailed(f"DNS record {what} could not be created: {exc}") from None
        for record in records:
            try:
                provider.set_record(record)
            except ProviderError as exc:
                for earlier_provider, earlier in done:
                    _quietly_delete(earlier_provider, earlier)
                raise DnsStepFailed(f"DNS record {record} could not be created: {exc}") from None
            done.append((provider, record))
            notes.append(f"DNS record {record} created")
    return notes


def _quietly_delete(provider: DnsProvider, record: Record) -> None:
    try:
        provider.delete_record(record.name, record.rtype)
    except ProviderError as exc:
        log.warning("could not remove %s while undoing: %s", record, exc)


def remove_app_records(app) -> None:
    for host in app_hostnames(app):
        remove_records_for(host.domain, host.fqdn)


def remove_records_for(domain: Domain, fqdn: str) -> None:
    provider = domain_provider(domain)
    if not provider.automatic:
        return
    for rtype in APP_RECORD_TYPES:
        try:
            provider.delete_record(fqdn, rtype)
        except ProviderError as exc:
            raise DnsStepFailed(f"DNS record {fqdn} {rtype} could not be removed: {exc}") from None


def app_certificate_names(app) -> list[str]:
    return [host.fqdn for host in app_hostnames(app)]


def _covers_all(certificate: Certificate, names: list[str]) -> bool:
    return all(name_is_covered(name, certificate.names) for name in names)


def drop_stale_app_certificate(app) -> None:
    """After a move or new aliases: the app's own certificate goes (row and files) when it
    no longer covers every name of the app — or, issued by ACME, when it names one the app
    gave up (an expired redirect): the task issues one for the names it has now."""
    names = app_certificate_names(app)
    for certificate in Certificate.objects.filter(app_id=app.pk).select_related("domain"):
        given_up = certificate.source == Certificate.Source.ACME and set(certificate.names) - {
            name.lower() for name in names
        }
        if (
            certificate.domain_id != app.domain_id
            or not _covers_all(certificate, names)
            or given_up
        ):
            remove_certificate_files(certificate)
            certificate.delete()


def alias_env(app) -> dict[str, str]:
    """HEARTH_ALIAS_DOMAINS for multiDomain apps: the other names they are served at."""
    if not app.manifest.get("multiDomain"):
        return {}
    aliases = [host.fqdn for host in app_hostnames(app)[1:] if not host.redirect]
    return {"ALIAS_DOMAINS": ",".join(aliases)}


def release_app_names(app) -> None:
    """On uninstall: the app's DNS records, then its own certificate (row and files)."""
    remove_app_records(app)
    for certificate in Certificate.objects.filter(app_id=app.pk).select_related("domain"):
        remove_certificate_files(certificate)
        certificate.delete()


def set_app_aliases(app, names: list[tuple[str, bool]], user=None):
    """Replace the app's other names: (fqdn, redirect) pairs, each on one of the domains.

    The names are the app's at once (nothing else can take them); a task then creates their
    records, gets a certificate covering them and rewrites nginx, like a location change.
    """
    from panel.core.models import AppInstance, Task
    from panel.core.services import (
        CHANGE_LOCATION,
        ActionRejected,
        _user,
        active_task,
        check_location,
        enqueue_task,
    )
    from panel.core.states import ACTION_STATES, AppState
    from panel.domains.models import LocationChange

    current = AppAlias.objects.filter(app_id=app.pk).select_related("domain")
    mine = {alias.fqdn for alias in current}
    # A redirect kept for a while keeps its end date when the other names change.
    expiry = {(alias.fqdn, alias.redirect): alias.expires_at for alias in current}
    wanted: list[tuple[str, Domain, bool]] = []
    errors: list[str] = []
    for fqdn, redirect in names:
        fqdn = fqdn.strip().lower().rstrip(".")
        subdomain, _, domain_name = fqdn.partition(".")
        domain = Domain.objects.filter(name=domain_name).first()
        if domain is None:
            errors.append(f"{fqdn}: {domain_name or fqdn} is not one of your domains.")
        elif fqdn == app.fqdn or any(fqdn == f"{s}.{d.name}" for s, d, _ in wanted):
            errors.append(f"{fqdn} is listed twice.")
        elif fqdn not in mine and (problems := check_location(subdomain, domain)):
            errors.append(f"{fqdn}: {' '.join(problems.values())}")
        else:
            wanted.append((subdomain, domain, redirect))
    if errors:
        raise ActionRejected({"aliases": " ".join(errors)})
    try:
        with transaction.atomic():
            app = AppInstance.objects.select_for_update().select_related("domain").get(pk=app.pk)
            if active_task(app) is not None or app.state != AppState.RUNNING:
                raise ActionRejected(
                    {"aliases": f"{app.title} must be running and idle to change its names."}
                )
            old_names = [[host.fqdn, host.domain.pk] for host in app_hostnames(app)]
            app.transition_to(ACTION_STATES["restart"])
            AppAlias.objects.filter(app_id=app.pk).delete()
            AppAlias.objects.bulk_create(
                AppAlias(
                    app=app,
                    subdomain=s,
                    domain=d,
                    redirect=r,
                    expires_at=expiry.get((f"{s}.{d.name}", r)),
                )
                for s, d, r in wanted
            )
            task = Task.objects.create(
                kind=CHANGE_LOCATION, app=app, app_label=str(app), requested_by=_user(user)
            )
            LocationChange.objects.create(
                task=task, old_subdomain=app.subdomain, old_domain=app.domain, old_names=old_names
            )
            enqueue_task(task)
    except IntegrityError:
        raise ActionRejected({"aliases": "One of these names was just taken."}) from None
    return task


def redirect_expiry(days: int | None, now: datetime.datetime | None = None):
    """When a redirect kept for `days` days ends (None: it stays until removed by hand)."""
    if not days:
        return None
    return (now or timezone.now()) + datetime.timedelta(days=int(days))


def expire_redirects(now: datetime.datetime | None = None) -> dict[str, int]:
    """Remove redirects whose time is over. Each app's names are set again without them,
    which is the task that removes their DNS records, certificate names and nginx server
    names; an app that is busy or not running is left for the next run."""
    from panel.core.events import record_event
    from panel.core.services import ActionRejected

    now = now or timezone.now()
    counts = {"expired": 0, "postponed": 0}
    due = AppAlias.objects.filter(redirect=True, expires_at__lte=now).select_related("app")
    for app in {alias.app for alias in due}:
        aliases = list(AppAlias.objects.filter(app=app).select_related("domain"))
        gone = [a for a in aliases if a.redirect and a.expires_at and a.expires_at <= now]
        keep = [(a.fqdn, a.redirect) for a in aliases if a not in gone]
        try:
            set_app_aliases(app, keep)
        except ActionRejected as exc:
            log.info("redirects of %s expire later: %s", app, exc)
            counts["postponed"] += len(gone)
            continue
        counts["expired"] += len(gone)
        record_event(
            "redirect_expired",
            app=app,
            message="no longer redirecting: " + ", ".join(a.fqdn for a in gone),
        )
    return counts


# Dynamic DNS ---------------------------------------------------------------------------
def public_ipv4(url: str, timeout: float = 10) -> str:
    """This host's public IPv4 address as the given service sees it."""
    response = requests.get(url, timeout=timeout)
    response.raise_for_status()
    # Bytes, not .text: with no charset, guessing may read a short digit string as UTF-16.
    address = ipaddress.ip_address(response.content.decode("ascii", "replace").strip())
    if address.version != 4:
        raise ValueError(f"{url} answered {address}, not an IPv4 address")
    return str(address)


def update_dynamic_dns() -> dict[str, int]:
    """Point the records of every dynamic-DNS domain's apps at the current public address;
    nothing is written while the address stays the same."""
    from panel.core.events import record_event
    from panel.core.models import Event

    counts = {"updated": 0, "failed": 0}
    domains = list(Domain.objects.filter(dynamic_dns=True))
    if not domains:
        return counts
    try:
        address = public_ipv4(settings.HEARTH_PUBLIC_IP_URL)
    except (requests.RequestException, ValueError) as exc:
        log.warning("dynamic DNS: cannot learn the public address: %s", exc)
        counts["failed"] = len(domains)
        return counts
    for domain in domains:
        if domain.ipv4 == address:
            continue
        provider = domain_provider(domain)
        if domain.cname_target:
            # App records are CNAMEs to one name: only that name follows the address, and
            # only when it lives in this domain (else its own dynamic DNS moves it).
            inside = domain.cname_target.endswith(f".{domain.name}")
            records = [Record(domain.cname_target, "A", (address,))] if inside else []
        else:
            records = [Record(app.fqdn, "A", (address,)) for app in domain.apps.all()]
        try:
            for record in records:
                provider.set_record(record)
        except ProviderError as exc:
            counts["failed"] += 1
            record_event(
                "dynamic_dns",
                app_label=domain.name,
                outcome=Event.Outcome.FAILED,
                message=f"{domain.name}: the address is now {address}, but {exc}",
            )
            continue
        Domain.objects.filter(pk=domain.pk).update(ipv4=address)
        record_event(
            "dynamic_dns",
            app_label=domain.name,
            message=f"{domain.name}: {domain.ipv4 or 'no address'} → {address} "
            f"({len(records)} record(s))",
        )
        counts["updated"] += 1
    return counts


# Certificates --------------------------------------------------------------------------
def acme_settings() -> AcmeSettings:
    return AcmeSettings(
        directory=settings.HEARTH_ACME_DIRECTORY,
        ca_bundle=settings.HEARTH_ACME_CA_BUNDLE,
        account_folder=Path(settings.HEARTH_HOME) / "acme",
        email=settings.HEARTH_ACME_EMAIL,
    )


def certificate_for_app(app) -> Certificate | None:
    """The app's own certificate, else its domain's if that covers the app's name."""
    own = Certificate.objects.filter(app_id=app.pk).first()
    if own is not None:
        return own
    shared = Certificate.objects.filter(domain_id=app.domain_id, app__isnull=True).first()
    if shared is not None and name_is_covered(app.fqdn, shared.names):
        return shared
    return None


def _paths(certificate: Certificate) -> tuple[Path, Path]:
    folder = Path(get_nginx().layout.certs)
    return folder / f"{certificate.file_stem}.crt", folder / f"{certificate.file_stem}.key"


def tls_files(certificate: Certificate) -> TlsFiles:
    """Where nginx reads the pair; (re)written here when missing or stale."""
    cert_path, key_path = _paths(certificate)
    for path, content in ((key_path, certificate.key_pem), (cert_path, certificate.fullchain_pem)):
        if not path.exists() or path.read_text() != content:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.touch(mode=0o600)
            path.write_text(content)
    return TlsFiles(certificate=str(cert_path), key=str(key_path))


def app_tls_files(app) -> TlsFiles | None:
    certificate = certificate_for_app(app)
    return tls_files(certificate) if certificate is not None else None


def _install_files(certificate: Certificate, fullchain_pem: str, key_pem: str) -> None:
    cert_path, key_path = _paths(certificate)
    get_nginx().replace_files({cert_path: fullchain_pem.encode(), key_path: key_pem.encode()})


def remove_certificate_files(certificate: Certificate) -> None:
    for path in _paths(certificate):
        path.unlink(missing_ok=True)


def is_due(certificate: Certificate, now: datetime.datetime | None = None) -> bool:
    now = now or timezone.now()
    return certificate.not_after - datetime.timedelta(days=settings.HEARTH_CERT_RENEW_DAYS) <= now


def _solver(domain: Domain, names: list[str]) -> HttpSolver | DnsSolver:
    inside = all(
        n.removeprefix("*.") == domain.name or n.endswith(f".{domain.name}") for n in names
    )
    # DNS-01 only where the domain's provider can write every name (aliases may live on
    # other domains; those certificates are proven over HTTP instead).
    if any(n.startswith("*.") for n in names) or (inside and domain.tls_mode in DNS01_MODES):
        return DnsSolver(domain_provider(domain))
    return HttpSolver(Path(get_nginx().layout.acme_challenges))


@contextlib.contextmanager
def _domain_acme_lock(domain: Domain):
    """One ACME order per domain at a time on this host: a wildcard order and the domain's
    own name share the TXT record _acme-challenge.<domain>, and two orders writing it at once
    would each wipe the other's answer."""
    held = _held_locks.__dict__.setdefault("names", set())
    if domain.name in held:  # re-entered from the same thread
        yield
        return
    folder = Path(settings.HEARTH_HOME) / "acme"
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / f"{domain.name}.lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        held.add(domain.name)
        try:
            yield
        finally:
            held.discard(domain.name)
            fcntl.flock(handle, fcntl.LOCK_UN)


_held_locks = threading.local()


def _issue(domain: Domain, names: list[str]):
    try:
        with _domain_acme_lock(domain):
            return issue_certificate(names, _solver(domain, names), acme_settings())
    except IssuanceError as exc:
        raise DnsStepFailed(f"certificate for {', '.join(names)}: {exc}") from None


def obtain_certificate(domain: Domain, app=None) -> Certificate:
    """Issue a certificate (the domain's wildcard when app is None, else the app's own),
    install its files and store it."""
    names = app_certificate_names(app) if app is not None else [domain.name, f"*.{domain.name}"]
    issued = _issue(domain, names)
    info = describe(issued.fullchain_pem)
    certificate, _ = Certificate.objects.update_or_create(
        domain=domain,
        app=app,
        defaults={
            "source": Certificate.Source.ACME,
            "names": info.names,
            "fullchain_pem": issued.fullchain_pem,
            "key_pem": issued.key_pem,
            "not_before": info.not_before,
            "not_after": info.not_after,
            "renew_failures": 0,
            "next_renewal_attempt": None,
            "last_error": "",
        },
    )
    _install_files(certificate, issued.fullchain_pem, issued.key_pem)
    if app is None:
        _refresh_dashboard()
    return certificate


def _refresh_dashboard() -> None:
    """A new domain-wide certificate also covers my.<domain>: serve the dashboard over it."""
    from panel.proxy.sites import write_dashboard_site

    write_dashboard_site(list(Domain.objects.values_list("name", flat=True)))


def app_origin(app) -> str:
    """The app's origin as browsers reach it: https when its domain gives it a certificate
    (known before issuance, since the container starts while the certificate is obtained)."""
    mode = app.domain.tls_mode
    tls_listen = get_nginx().layout.tls_listen
    if (
        not tls_listen
        or mode == TlsMode.OFF
        or (mode == TlsMode.CUSTOM and certificate_for_app(app) is None)
    ):
        return f"http://{app.fqdn}"
    port = https_port(tls_listen)
    return f"https://{app.fqdn}" + ("" if port == 443 else f":{port}")


def browser_origin(app) -> str:
    """app_origin with nginx's HTTP port when it is not 80 (a test or development setup):
    what a browser's address bar shows, for redirect URIs registered on the app's behalf."""
    origin = app_origin(app)
    port = get_nginx().layout.listen.rsplit(":", 1)[-1]
    if origin.startswith("http://") and port != "80":
        return f"{origin}:{port}"
    return origin


def ensure_app_certificate(app) -> Certificate | None:
    """The certificate the app should be served with, issued now if the domain's TLS mode
    asks for one and there is none yet. None means plain HTTP."""
    domain = app.domain
    existing = certificate_for_app(app)
    if domain.tls_mode in (TlsMode.OFF, TlsMode.CUSTOM):
        return existing
    names = app_certificate_names(app)
    if existing is not None and _covers_all(existing, names):
        return existing
    if domain.tls_mode == TlsMode.ACME_WILDCARD:
        shared = ensure_domain_certificate(domain)
        if _covers_all(shared, names):
            return shared
    # Per-app modes, and wildcard domains whose app has aliases the wildcard misses.
    return obtain_certificate(domain, app)


def ensure_domain_certificate(domain: Domain) -> Certificate | None:
    """The domain's wildcard certificate (for wildcard mode), issued if missing."""
    if domain.tls_mode != TlsMode.ACME_WILDCARD:
        return None
    # Checked again under the lock: an app install and prepare_domain may both get here.
    with _domain_acme_lock(domain):
        existing = Certificate.objects.filter(domain=domain, app__isnull=True).first()
        return existing or obtain_certificate(domain)


def prepare_domain(domain: Domain) -> None:
    """After a domain is added: the dashboard answers at my.<domain>, over its wildcard
    certificate when the domain has one."""
    ensure_domain_certificate(domain)
    # After the certificate, so the last word on the dashboard site has seen it.
    _refresh_dashboard()


def upload_certificate(
    *, domain: Domain, fullchain_pem: str, key_pem: str, app=None
) -> Certificate:
    """Store an uploaded certificate for the domain (it must cover *.domain or the domain)
    or for one app (it must cover the app's name); DomainRejected says what is wrong."""
    fullchain_pem = (fullchain_pem or "").strip() + "\n"
    key_pem = (key_pem or "").strip() + "\n"
    names = [app.fqdn] if app is not None else [f"*.{domain.name}"]
    try:
        info = check_certificate(fullchain_pem, key_pem, names, timezone.now())
    except CertificateProblem as exc:
        raise DomainRejected(exc.errors) from None
    with transaction.atomic():
        certificate, _ = Certificate.objects.update_or_create(
            domain=domain,
            app=app,
            defaults={
                "source": Certificate.Source.CUSTOM,
                "names": info.names,
                "fullchain_pem": fullchain_pem,
                "key_pem": key_pem,
                "not_before": info.not_before,
                "not_after": info.not_after,
                "renew_failures": 0,
                "next_renewal_attempt": None,
                "last_error": "",
            },
        )
        try:
            _install_files(certificate, fullchain_pem, key_pem)
        except ProxyError as exc:
            raise DomainRejected({"certificate": str(exc)}) from None
    return certificate


# Renewal -------------------------------------------------------------------------------
def renewal_backoff(failures: int) -> datetime.timedelta:
    """1 h, 2 h, 4 h … capped at a day: a CA outage is not hammered, a fix is picked up soon."""
    return datetime.timedelta(hours=min(2 ** max(failures - 1, 0), 24))


def renew_certificate(certificate: Certificate) -> None:
    """Issue again for the same names; the old pair serves until nginx reloads the new one."""
    issued = _issue(certificate.domain, list(certificate.names))
    info = describe(issued.fullchain_pem)
    try:
        _install_files(certificate, issued.fullchain_pem, issued.key_pem)
    except ProxyError as exc:
        raise DnsStepFailed(str(exc)) from None
    Certificate.objects.filter(pk=certificate.pk).update(
        fullchain_pem=issued.fullchain_pem,
        key_pem=issued.key_pem,
        names=info.names,
        not_before=info.not_before,
        not_after=info.not_after,
        renew_failures=0,
        next_renewal_attempt=None,
        last_error="",
        updated_at=timezone.now(),
    )


def renew_due_certificates(now: datetime.datetime | None = None) -> dict[str, int]:
    """Renew every ACME certificate within HEARTH_CERT_RENEW_DAYS of expiry whose back-off
    has passed; a failure is recorded, backed off, logged as an event and mailed to admins."""
    from django.db.models import Q

    from panel.core.events import record_event
    from panel.core.models import Event

    now = now or timezone.now()
    horizon = now + datetime.timedelta(days=settings.HEARTH_CERT_RENEW_DAYS)
    due = Certificate.objects.select_related("domain", "app").filter(
        Q(next_renewal_attempt__isnull=True) | Q(next_renewal_attempt__lte=now),
        source=Certificate.Source.ACME,
        not_after__lte=horizon,
    )
    counts = {"renewed": 0, "failed": 0}
    for certificate in due:
        label = ", ".join(certificate.names)
        try:
            renew_certificate(certificate)
        except DnsStepFailed as exc:
            failures = certificate.renew_failures + 1
            Certificate.objects.filter(pk=certificate.pk).update(
                renew_failures=failures,
                next_renewal_attempt=now + renewal_backoff(failures),
                last_error=str(exc)[:5000],
            )
            message = f"Renewing the certificate for {label} failed (attempt {failures}): {exc}"
            record_event(
                "certificate_renewal",
                app=certificate.app,
                app_label=label,
                outcome=Event.Outcome.FAILED,
                message=message,
            )
            _alert_admins(f"Hearth: certificate renewal failed for {label}", message)
            counts["failed"] += 1
        else:
            record_event(
                "certificate_renewal",
                app=certificate.app,
                app_label=label,
                message=f"Renewed the certificate for {label}",
            )
            counts["renewed"] += 1
    return counts


def warn_expiring_uploads(now: datetime.datetime | None = None) -> int:
    """Uploaded certificates cannot renew themselves: within HEARTH_CERT_RENEW_DAYS of
    expiry the admins hear about it, once a day until a new one is uploaded."""
    from django.db.models import Q

    from panel.core.events import record_event
    from panel.core.models import Event

    now = now or timezone.now()
    horizon = now + datetime.timedelta(days=settings.HEARTH_CERT_RENEW_DAYS)
    expiring = Certificate.objects.filter(
        Q(next_renewal_attempt__isnull=True) | Q(next_renewal_attempt__lte=now),
        source=Certificate.Source.CUSTOM,
        not_after__lte=horizon,
    )
    warned = 0
    for certificate in expiring:
        label = ", ".join(certificate.names)
        message = (
            f"The uploaded certificate for {label} expires on "
            f"{certificate.not_after:%Y-%m-%d}; upload a new one on the Domains page."
        )
        record_event(
            "certificate_expiring", app_label=label, outcome=Event.Outcome.INFO, message=message
        )
        _alert_admins(f"Hearth: certificate for {label} expires soon", message)
        Certificate.objects.filter(pk=certificate.pk).update(
            next_renewal_attempt=now + datetime.timedelta(days=1)
        )
        warned += 1
    return warned


def _alert_admins(subject: str, message: str) -> None:
    recipients = list(
        get_user_model()
        .objects.filter(is_active=True, is_superuser=True)
        .exclude(email="")
        .values_list("email", flat=True)
    )
    if recipients:
        send_mail(subject, message, None, recipients, fail_silently=True)
