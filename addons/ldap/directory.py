"""Hearth's read-only LDAP directory: entries for users and groups, DNs, and search filters.

No Django and no protocol here: entries are plain dicts of lower-case attribute names to lists
of strings, filters arrive as small tuples (see addons.ldap.protocol), so all of it is unit
testable on its own.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

BASE_DN = "dc=hearth"
USERS_DN = f"ou=users,{BASE_DN}"
GROUPS_DN = f"ou=groups,{BASE_DN}"
APPS_DN = f"ou=apps,{BASE_DN}"

SCOPE_BASE, SCOPE_ONE, SCOPE_SUBTREE = 0, 1, 2


@dataclass(frozen=True)
class Entry:
    dn: str
    attributes: dict[str, list[str]] = field(default_factory=dict)
    # The normalized DN, computed once: every search compares it.
    key: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "key", normalize_dn(self.dn))

    def values(self, name: str) -> list[str]:
        # Attribute names are case-insensitive in LDAP; entries keep the usual spelling.
        wanted = name.lower()
        for key, values in self.attributes.items():
            if key.lower() == wanted:
                return values
        return []


def normalize_dn(dn: str) -> str:
    """Compare DNs the way LDAP does for ours: case-insensitive, spaces around , and = dropped."""
    parts = []
    for rdn in dn.split(","):
        if "=" not in rdn:
            return dn.strip().lower()
        name, _, value = rdn.partition("=")
        parts.append(f"{name.strip().lower()}={value.strip().lower()}")
    return ",".join(parts)


def user_dn(username: str) -> str:
    return f"uid={username},{USERS_DN}"


def group_dn(name: str) -> str:
    return f"cn={name},{GROUPS_DN}"


def app_bind_dn(app_hex_id: str) -> str:
    return f"cn={app_hex_id},{APPS_DN}"


def username_from_dn(dn: str) -> str | None:
    """`uid=alice,ou=users,dc=hearth` -> "alice"; anything else -> None."""
    normalized = normalize_dn(dn)
    suffix = "," + USERS_DN
    if not normalized.endswith(suffix):
        return None
    rdn = normalized[: -len(suffix)]
    name, _, value = rdn.partition("=")
    return value if name in ("uid", "cn") and value and "," not in value else None


def user_entry(username: str, email: str, full_name: str, groups: Iterable[str]) -> Entry:
    display = full_name or username
    return Entry(
        user_dn(username),
        {
            "objectClass": ["top", "person", "organizationalPerson", "inetOrgPerson", "user"],
            "uid": [username],
            "cn": [display],
            "displayName": [display],
            "sn": [display.split()[-1] if display.split() else username],
            "mail": [email] if email else [],
            "memberOf": [group_dn(g) for g in groups],
        },
    )


def group_entry(name: str, members: Iterable[str]) -> Entry:
    members = list(members)
    return Entry(
        group_dn(name),
        {
            "objectClass": ["top", "groupOfNames", "group"],
            "cn": [name],
            "member": [user_dn(m) for m in members],
            "memberUid": members,
        },
    )


def container_entries() -> list[Entry]:
    return [
        Entry(BASE_DN, {"objectClass": ["top", "domain"], "dc": ["hearth"]}),
        Entry(USERS_DN, {"objectClass": ["top", "organizationalUnit"], "ou": ["users"]}),
        Entry(GROUPS_DN, {"objectClass": ["top", "organizationalUnit"], "ou": ["groups"]}),
    ]


def in_scope(entry_dn: str, base: str, scope: int) -> bool:
    return _in_scope(normalize_dn(entry_dn), normalize_dn(base), scope)


def _in_scope(entry: str, base: str, scope: int) -> bool:
    """Both DNs already normalized."""
    if scope == SCOPE_BASE:
        return entry == base
    if not entry.endswith("," + base) and base:
        return False
    if scope == SCOPE_ONE:
        return entry.count(",") == base.count(",") + 1 if base else "," not in entry
    return True


def matches(entry: Entry, filter_: tuple) -> bool:
    """Evaluate a filter tuple: ("and", [..]), ("or", [..]), ("not", f), ("eq", attr, value),
    ("present", attr), ("substring", attr, initial, [any...], final), ("ge"/"le", attr, value),
    ("approx", attr, value). Unknown operators match nothing, as RFC 4511 asks of "Undefined".
    """
    kind = filter_[0]
    if kind == "and":
        return all(matches(entry, f) for f in filter_[1])
    if kind == "or":
        return any(matches(entry, f) for f in filter_[1])
    if kind == "not":
        return not matches(entry, filter_[1])
    if kind == "present":
        attribute = filter_[1].lower()
        return attribute == "objectclass" or bool(entry.values(attribute))
    values = [v.lower() for v in entry.values(filter_[1])]
    if filter_[1].lower() in ("member", "memberof", "entrydn"):
        values = [normalize_dn(v) for v in values]
    if kind in ("eq", "approx"):
        wanted = filter_[2].lower()
        if filter_[1].lower() in ("member", "memberof"):
            wanted = normalize_dn(wanted)
        return wanted in values
    if kind == "ge":
        return any(v >= filter_[2].lower() for v in values)
    if kind == "le":
        return any(v <= filter_[2].lower() for v in values)
    if kind == "substring":
        _, _, initial, middles, final = filter_
        return any(_substring_match(v, initial, middles, final) for v in values)
    return False


def _substring_match(
    value: str, initial: str | None, middles: list[str], final: str | None
) -> bool:
    position = 0
    if initial:
        if not value.startswith(initial.lower()):
            return False
        position = len(initial)
    for part in middles:
        found = value.find(part.lower(), position)
        if found < 0:
            return False
        position = found + len(part)
    return not final or (value.endswith(final.lower()) and len(value) - len(final) >= position)


def select_attributes(entry: Entry, wanted: list[str], types_only: bool) -> dict[str, list[str]]:
    """The attributes a search asked for ("*" or none: all user attributes)."""
    names = {w.lower() for w in wanted}
    everything = not names or "*" in names
    chosen = {
        name: ([] if types_only else values)
        for name, values in entry.attributes.items()
        if values and (everything or name.lower() in names)
    }
    if "entrydn" in names:
        chosen["entryDN"] = [] if types_only else [entry.dn]
    return chosen


def search(
    entries: Iterable[Entry], base: str, scope: int, filter_: tuple, size_limit: int = 0
) -> list[Entry]:
    base = normalize_dn(base)
    found = [e for e in entries if _in_scope(e.key, base, scope) and matches(e, filter_)]
    return found[:size_limit] if size_limit else found
