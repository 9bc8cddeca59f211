"""Validation of app manifests (HearthManifest.json, or CloudronManifest.json with the same fields).

The rules live in one JSON Schema (Draft 2020-12, ``MANIFEST_SCHEMA``) so that packagers can
check a manifest with any validator. This module adds what a schema cannot say well: error
messages in plain words, each naming the JSON path of the mistake.

Schema nodes carry two annotations that validators ignore and we read back:
``x-expected`` (what a valid value looks like, in words) and ``x-key-noun`` (what the keys of
an object are called: "field", "addon", "option", ...).
"""

from __future__ import annotations

import copy
import difflib
import json
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import semver
from jsonschema import Draft202012Validator, FormatChecker, validators
from jsonschema.exceptions import ValidationError, best_match

MANIFEST_FILENAMES = ("HearthManifest.json", "CloudronManifest.json")
DEFAULT_MEMORY_LIMIT = 256 * 1024 * 1024
MIN_MEMORY_LIMIT = 32 * 1024 * 1024
MAX_MEMORY_LIMIT = 64 * 1024 * 1024 * 1024

# Docker's default capability set plus a few that packaged apps commonly ask for.
# sys_admin is left out on purpose: it is close to root on the host.
CAPABILITIES = (
    "audit_write",
    "chown",
    "dac_override",
    "fowner",
    "fsetid",
    "ipc_lock",
    "kill",
    "mknod",
    "net_admin",
    "net_bind_service",
    "net_raw",
    "setfcap",
    "setgid",
    "setpcap",
    "setuid",
    "sys_chroot",
    "sys_nice",
    "sys_ptrace",
)

_LABEL = r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?"
_APP_ID_PATTERN = rf"^{_LABEL}(?:\.{_LABEL})+$"
_ABSOLUTE_PATH = {
    "type": "string",
    "pattern": "^/",
    "x-expected": 'an absolute path starting with "/"',
}
_BOOLEAN = {"type": "boolean", "x-expected": "true or false"}
_STRING = {"type": "string", "x-expected": "a string"}
_URL = {"type": "string", "format": "url", "x-expected": "an http(s) URL"}


def _options(noun: str = "option", **properties: dict) -> dict:
    return {
        "type": "object",
        "x-expected": "an object of options",
        "x-key-noun": noun,
        "properties": properties,
        "additionalProperties": False,
    }


_SCHEDULER_JOB = {
    "type": "object",
    "x-expected": 'an object with "schedule" and "command"',
    "x-key-noun": "field",
    "required": ["schedule", "command"],
    "properties": {
        "schedule": {"type": "string", "format": "cron", "x-expected": "a cron schedule"},
        "command": {"type": "string", "minLength": 1, "x-expected": "a non-empty command"},
    },
    "additionalProperties": False,
}

# A command the app documents for its owner (an admin tool, a cache flush...), offered on
# the web terminal page.
_DOCUMENTED_COMMAND = {
    "type": "object",
    "x-expected": 'an object with "name", "command" and optionally "description"',
    "x-key-noun": "field",
    "required": ["name", "command"],
    "properties": {
        "name": {"type": "string", "minLength": 1, "maxLength": 80, "x-expected": "a short name"},
        "command": {"type": "string", "minLength": 1, "x-expected": "a non-empty shell command"},
        "description": _STRING,
    },
    "additionalProperties": False,
}

ADDON_OPTIONS: dict[str, dict] = {
    "localstorage": _options(
        ftp={"type": "object", "x-expected": "an object"},
        sqlite={"type": "object", "x-expected": "an object"},
    ),
    "mysql": _options(multipleDatabases=_BOOLEAN),
    "postgresql": _options(locale=_STRING),
    "mongodb": _options(),
    "redis": _options(noPassword=_BOOLEAN),
    "sendmail": _options(supportsDisplayName=_BOOLEAN, requiresValidCertificate=_BOOLEAN),
    "recvmail": _options(),
    "ldap": _options(),
    "oidc": _options(
        loginRedirectUri={
            "type": "string",
            "pattern": r"^/[^,\s]*(?:\s*,\s*/[^,\s]*)*$",
            "x-expected": 'a path starting with "/", or several separated by commas',
        },
        logoutRedirectUri=_STRING,
        tokenSignatureAlgorithm={"enum": ["RS256", "EdDSA"]},
    ),
    "proxyAuth": _options(path=_STRING, basicAuth=_BOOLEAN, supportsBearerAuth=_BOOLEAN),
    # The scheduler's "options" are the jobs themselves, keyed by job name.
    "scheduler": {
        "type": "object",
        "x-expected": "an object of jobs keyed by job name",
        "propertyNames": {
            "pattern": "^[a-z0-9_-]+$",
            "x-key-noun": "job",
            "x-expected": 'lowercase letters, digits, "_" or "-"',
        },
        "additionalProperties": _SCHEDULER_JOB,
    },
    "tls": _options(),
    "docker": _options(),
    "turn": _options(),
    "email": _options(),
}

_PORT_NUMBER = {
    "type": "integer",
    "minimum": 1,
    "maximum": 65535,
    "x-expected": "an integer between 1 and 65535",
}

_PORTS = {
    "type": "object",
    "x-expected": "an object of ports keyed by environment variable name",
    "propertyNames": {
        "pattern": "^[A-Z][A-Z0-9_]*$",
        "x-key-noun": "environment variable",
        "x-expected": "uppercase letters, digits and underscores, starting with a letter",
    },
    "additionalProperties": {
        "type": "object",
        "x-expected": "an object describing the port",
        "x-key-noun": "field",
        "required": ["title", "defaultValue"],
        "properties": {
            "title": _STRING,
            "description": _STRING,
            "defaultValue": _PORT_NUMBER,
            "containerPort": _PORT_NUMBER,
            "portCount": {
                "type": "integer",
                "minimum": 1,
                "maximum": 1000,
                "x-expected": "an integer between 1 and 1000",
            },
        },
        "additionalProperties": False,
    },
}

MANIFEST_SCHEMA: dict = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "Hearth app manifest",
    "type": "object",
    "x-expected": "a JSON object",
    "x-key-noun": "field",
    "required": ["manifestVersion", "id", "title", "version", "healthCheckPath", "httpPort"],
    "properties": {
        "manifestVersion": {"const": 2},
        "id": {
            "type": "string",
            "pattern": _APP_ID_PATTERN,
            "x-expected": (
                "a reverse-domain id of lowercase labels separated by dots, "
                'e.g. "io.hearth.staticsite"'
            ),
        },
        "title": {"type": "string", "minLength": 1, "x-expected": "a non-empty string"},
        "version": {"type": "string", "format": "semver", "x-expected": "a version string"},
        "healthCheckPath": {
            "type": "string",
            "pattern": "^/",
            "x-expected": 'a path starting with "/"',
        },
        "httpPort": _PORT_NUMBER,
        "author": _STRING,
        "description": _STRING,
        "tagline": _STRING,
        "upstreamVersion": _STRING,
        "website": _URL,
        "contactEmail": {"type": "string", "format": "email", "x-expected": "an email address"},
        "icon": {"type": "string", "minLength": 1, "x-expected": "a file path"},
        "tags": {"type": "array", "items": _STRING, "x-expected": "a list of strings"},
        "mediaLinks": {"type": "array", "items": _URL, "x-expected": "a list of URLs"},
        "changelog": _STRING,
        "tcpPorts": _PORTS,
        "udpPorts": _PORTS,
        "addons": {
            "type": "object",
            "x-expected": "an object of addons keyed by addon name",
            "x-key-noun": "addon",
            "properties": ADDON_OPTIONS,
            "additionalProperties": False,
        },
        "memoryLimit": {
            "type": "integer",
            "minimum": MIN_MEMORY_LIMIT,
            "maximum": MAX_MEMORY_LIMIT,
            "x-expected": (
                f"a number of bytes between {MIN_MEMORY_LIMIT} (32 MiB) "
                f"and {MAX_MEMORY_LIMIT} (64 GiB)"
            ),
        },
        "minBoxVersion": {"type": "string", "format": "semver", "x-expected": "a version string"},
        "optionalSso": _BOOLEAN,
        "multiDomain": _BOOLEAN,
        "postInstallMessage": _STRING,
        "configurePath": _STRING,
        "commands": {
            "type": "array",
            "items": _DOCUMENTED_COMMAND,
            "x-expected": "a list of commands",
        },
        "logPaths": {
            "type": "array",
            "items": _ABSOLUTE_PATH,
            "x-expected": "a list of absolute paths",
        },
        "capabilities": {
            "type": "array",
            "items": {"enum": list(CAPABILITIES)},
            "uniqueItems": True,
            "x-expected": "a list of capability names",
        },
        "runtimeDirs": {
            "type": "array",
            "items": _ABSOLUTE_PATH,
            "x-expected": "a list of absolute paths",
        },
        "documentationUrl": _URL,
        "forumUrl": _URL,
        "packagerName": _STRING,
        "packagerUrl": _URL,
        # "pause": the app's files must not change while they are copied (a database kept in
        # /app/data, say): its container is paused for the copy and unpaused after.
        "backup": _options("field", pause=_BOOLEAN),
        # "recreate": the app cannot run two copies on one /app/data, so an update stops the
        # old container before starting the new one instead of switching between them.
        "updateStrategy": {"enum": ["rolling", "recreate"]},
    },
    "additionalProperties": False,
}

_FORMAT_DESCRIPTIONS = {
    "semver": "a valid semantic version (expected MAJOR.MINOR.PATCH, e.g. 1.0.0)",
    "cron": (
        "a valid cron schedule (expected 5 fields: minute hour day-of-month month "
        'day-of-week, e.g. "*/15 * * * *")'
    ),
    "url": "a valid URL (expected http:// or https:// followed by a host)",
    "email": "a valid email address",
}

# (lowest, highest, names) per cron field; names only exist for month and day-of-week.
_CRON_FIELDS = (
    (0, 59, ()),
    (0, 23, ()),
    (1, 31, ()),
    (1, 12, ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")),
    # 7 is Sunday too in every common cron.
    (0, 7, ("sun", "mon", "tue", "wed", "thu", "fri", "sat")),
)
_CRON_ITEM = re.compile(r"^(?:\*|([0-9a-zA-Z]+)(?:-([0-9a-zA-Z]+))?)(?:/([0-9]+))?$")

FORMAT_CHECKER = FormatChecker(formats=["email"])


@FORMAT_CHECKER.checks("semver")
def _is_semver(instance: object) -> bool:
    return not isinstance(instance, str) or semver.Version.is_valid(instance)


@FORMAT_CHECKER.checks("url")
def _is_http_url(instance: object) -> bool:
    # Only http(s): these values become links in the panel, and a "javascript:" URL would run.
    if not isinstance(instance, str):
        return True
    parts = urlsplit(instance)
    return parts.scheme in ("http", "https") and bool(parts.hostname)


@FORMAT_CHECKER.checks("cron")
def _is_cron_schedule(instance: object) -> bool:
    if not isinstance(instance, str):
        return True
    fields = instance.split()
    if len(fields) != len(_CRON_FIELDS):
        return False
    return all(
        _is_cron_field(field, *limits) for field, limits in zip(fields, _CRON_FIELDS, strict=True)
    )


def _is_cron_field(field: str, lowest: int, highest: int, names: tuple[str, ...]) -> bool:
    def value(token: str) -> int | None:
        if token.isdigit():
            number = int(token)
            return number if lowest <= number <= highest else None
        if token.lower() in names:
            return names.index(token.lower()) + lowest
        return None

    for item in field.split(","):
        match = _CRON_ITEM.match(item)
        if not match:
            return False
        start, end, step = match.groups()
        if start is not None and value(start) is None:
            return False
        if end is not None and (value(end) is None or value(end) < value(start)):
            return False
        if step is not None and int(step) == 0:
            return False
    return True


def _is_strict_integer(checker: object, instance: object) -> bool:
    # JSON Schema counts 80.0 as an integer; ports and byte counts go to Docker, which does not.
    return isinstance(instance, int) and not isinstance(instance, bool)


_Validator = validators.extend(
    Draft202012Validator,
    type_checker=Draft202012Validator.TYPE_CHECKER.redefine("integer", _is_strict_integer),
)
_VALIDATOR = _Validator(MANIFEST_SCHEMA, format_checker=FORMAT_CHECKER)


class ManifestError(ValueError):
    """A manifest that cannot be used; ``errors`` holds one "json.path: message" per problem."""

    def __init__(self, errors: str | Iterable[str]) -> None:
        self.errors: list[str] = [errors] if isinstance(errors, str) else list(errors)
        super().__init__("; ".join(self.errors))


@dataclass(frozen=True)
class Manifest:
    """A validated manifest. Optional text fields read as "" when absent."""

    data: dict

    @property
    def id(self) -> str:
        return self.data["id"]

    @property
    def title(self) -> str:
        return self.data["title"]

    @property
    def version(self) -> str:
        return self.data["version"]

    @property
    def http_port(self) -> int:
        return self.data["httpPort"]

    @property
    def health_check_path(self) -> str:
        return self.data["healthCheckPath"]

    @property
    def memory_limit(self) -> int:
        return self.data.get("memoryLimit", DEFAULT_MEMORY_LIMIT)

    @property
    def addons(self) -> dict[str, dict]:
        return copy.deepcopy(self.data.get("addons", {}))

    @property
    def scheduler(self) -> dict[str, dict]:
        return copy.deepcopy(self.data.get("addons", {}).get("scheduler", {}))

    @property
    def capabilities(self) -> list[str]:
        return list(self.data.get("capabilities", []))

    @property
    def tcp_ports(self) -> dict[str, dict]:
        return copy.deepcopy(self.data.get("tcpPorts", {}))

    @property
    def udp_ports(self) -> dict[str, dict]:
        return copy.deepcopy(self.data.get("udpPorts", {}))

    @property
    def commands(self) -> list[dict]:
        """The app's documented commands: [{"name", "command", "description"?}]."""
        return [dict(item) for item in self.data.get("commands", [])]

    @property
    def log_paths(self) -> list[str]:
        return list(self.data.get("logPaths", []))

    @property
    def runtime_dirs(self) -> list[str]:
        return list(self.data.get("runtimeDirs", []))

    @property
    def multi_domain(self) -> bool:
        return self.data.get("multiDomain", False)

    @property
    def optional_sso(self) -> bool:
        return self.data.get("optionalSso", False)

    @property
    def tags(self) -> list[str]:
        return list(self.data.get("tags", []))

    @property
    def media_links(self) -> list[str]:
        return list(self.data.get("mediaLinks", []))

    @property
    def author(self) -> str:
        return self.data.get("author", "")

    @property
    def tagline(self) -> str:
        return self.data.get("tagline", "")

    @property
    def description(self) -> str:
        return self.data.get("description", "")

    @property
    def icon(self) -> str:
        return self.data.get("icon", "")

    @property
    def changelog(self) -> str:
        return self.data.get("changelog", "")

    @property
    def post_install_message(self) -> str:
        return self.data.get("postInstallMessage", "")

    @property
    def upstream_version(self) -> str:
        return self.data.get("upstreamVersion", "")

    @property
    def website(self) -> str:
        return self.data.get("website", "")

    @property
    def contact_email(self) -> str:
        return self.data.get("contactEmail", "")

    @property
    def configure_path(self) -> str:
        return self.data.get("configurePath", "")

    @property
    def pause_for_backup(self) -> bool:
        return bool(self.data.get("backup", {}).get("pause", False))

    @property
    def update_strategy(self) -> str:
        return self.data.get("updateStrategy", "rolling")

    @property
    def min_box_version(self) -> str:
        return self.data.get("minBoxVersion", "")


def validate_manifest(data: object) -> Manifest:
    """Check decoded manifest JSON; raise ManifestError listing every problem found."""
    problems = {
        (_path_sort_key(path), f"{_format_path(path)}: {message}")
        for error in _VALIDATOR.iter_errors(data)
        for path, message in _describe_error(error)
    }
    if problems:
        raise ManifestError(message for _, message in sorted(problems))
    # A private copy, so later changes to the caller's dict cannot bypass validation.
    return Manifest(data=copy.deepcopy(data))


def parse_manifest(text: str) -> Manifest:
    """Decode manifest JSON text and validate it."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ManifestError(
            f"(root): invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from exc
    return validate_manifest(data)


def load_manifest(package_dir: str | os.PathLike) -> Manifest:
    """Read and validate the manifest of an app package directory."""
    for filename in MANIFEST_FILENAMES:
        path = Path(package_dir) / filename
        if path.is_file():
            break
    else:
        raise ManifestError(
            f"(root): no manifest found in {os.fspath(package_dir)} "
            f"(expected {' or '.join(MANIFEST_FILENAMES)})"
        )
    try:
        # utf-8-sig because some editors on Windows save JSON with a byte order mark.
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ManifestError(f"(root): {filename} is not valid UTF-8 text") from exc
    return parse_manifest(text)


def _describe_error(error: ValidationError) -> Iterator[tuple[tuple, str]]:
    """Yield (path, plain-words message) pairs for one jsonschema error."""
    path = tuple(error.absolute_path)
    schema = error.schema if isinstance(error.schema, dict) else {}
    kind = error.validator
    expected = schema.get("x-expected")

    if error.context and kind in ("anyOf", "oneOf"):
        # Given the parent error, best_match picks the branch whose type matches the value.
        best = best_match([error])
        if best is not None and best is not error:
            yield from _describe_error(best)
            return

    if "propertyNames" in error.relative_schema_path:
        noun = schema.get("x-key-noun", "key")
        wanted = expected or "a valid name"
        yield path, f"invalid {noun} name {_show(error.instance)} (expected {wanted})"
    elif kind == "required":
        for name in error.validator_value:
            if isinstance(error.instance, dict) and name not in error.instance:
                yield path, f'missing required field "{name}"'
    elif kind == "additionalProperties" and error.validator_value is False:
        noun = schema.get("x-key-noun", "field")
        known = list(schema.get("properties", {}))
        for key in error.instance:
            if key not in known:
                yield path, f"unknown {noun} {_show(key)}{_suggestion(key, known)}"
    else:
        yield path, _single_message(error, expected)


def _single_message(error: ValidationError, expected: str | None) -> str:
    kind = error.validator
    got = _show(error.instance)
    if kind == "format":
        description = _FORMAT_DESCRIPTIONS.get(error.validator_value, "in the expected format")
        return f"{got} is not {description}"
    if kind == "const":
        return f"expected {_show(error.validator_value)}, got {got}"
    if kind == "enum":
        choices = ", ".join(_show(choice) for choice in error.validator_value)
        hint = _suggestion(error.instance, error.validator_value)
        return f"expected one of {choices}, got {got}{hint}"
    if kind == "uniqueItems":
        return f"{_show(_first_duplicate(error.instance))} is listed more than once"
    if expected is not None:
        return f"expected {expected}, got {got}"
    if kind == "type":
        return f"expected {_TYPE_WORDS.get(error.validator_value, 'another type')}, got {got}"
    return f"{got} fails the {kind!r} rule"


_TYPE_WORDS = {
    "object": "an object",
    "array": "a list",
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "null": "null",
}


def _suggestion(word: object, candidates: Iterable[object]) -> str:
    if not isinstance(word, str):
        return ""
    by_lowercase = {c.lower(): c for c in candidates if isinstance(c, str)}
    # Above difflib's default 0.6 so that "sys_admin" (left out on purpose) does not
    # suggest "net_admin"; case is ignored so that "rs256" still finds "RS256".
    matches = difflib.get_close_matches(word.lower(), by_lowercase, n=1, cutoff=0.75)
    return f' — did you mean "{by_lowercase[matches[0]]}"?' if matches else ""


def _first_duplicate(items: list) -> object:
    seen: list = []
    for item in items:
        if item in seen:
            return item
        seen.append(item)
    return None


def _show(value: object, limit: int = 60) -> str:
    """Render a value for a message without dumping large structures."""
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else f"{text[: limit - 4]}…{text[-1]}"


_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


def _format_path(path: tuple) -> str:
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        elif _PLAIN_KEY.match(part):
            text += f".{part}" if text else part
        else:
            text += f"[{json.dumps(part, ensure_ascii=False)}]"
    return text or "(root)"


def _path_sort_key(path: tuple) -> tuple:
    # Compare indexes as numbers so that tags[2] sorts before tags[10].
    return tuple((0, part, "") if isinstance(part, int) else (1, 0, part) for part in path)
