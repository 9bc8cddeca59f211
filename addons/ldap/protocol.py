"""LDAP messages on the wire, through ldap3's RFC 4511 ASN.1 definitions and pyasn1's BER codec.

Only the operations a read-only directory needs: bind (simple), search, unbind; everything
else is answered "unwilling to perform". Requests come out as small dataclasses and filter
tuples for addons.ldap.directory; responses go in as plain values.
"""

from __future__ import annotations

from dataclasses import dataclass

from ldap3.protocol import rfc4511
from ldap3.protocol.rfc4511 import LDAPMessage
from pyasn1.codec.ber import decoder, encoder
from pyasn1.error import PyAsn1Error
from pyasn1.type.namedtype import NamedType, NamedTypes
from pyasn1.type.tag import Tag, tagClassContext, tagFormatSimple

SUCCESS = 0
OPERATIONS_ERROR = 1
PROTOCOL_ERROR = 2
AUTH_METHOD_NOT_SUPPORTED = 7
NO_SUCH_OBJECT = 32
INVALID_CREDENTIALS = 49
INSUFFICIENT_ACCESS = 50
UNWILLING_TO_PERFORM = 53

# Responses each request kind gets when we refuse it (by RFC 4511 application tag).
REFUSAL_OPS = {
    "modifyRequest": "modifyResponse",
    "addRequest": "addResponse",
    "delRequest": "delResponse",
    "modDNRequest": "modDNResponse",
    "compareRequest": "compareResponse",
    "extendedReq": "extendedResp",
}

MAX_MESSAGE = 1 << 20


class ProtocolViolation(Exception):
    pass


# ldap3 is a client: it declares the "present" filter as a constructed element, which it only
# ever encodes. Clients such as OpenLDAP send it primitive, as RFC 4511 says ([7] IMPLICIT
# AttributeDescription), so requests are decoded with a corrected copy of the filter types.
# pyasn1 fixes a type's components when an instance is made, so the recursive filter type is
# unrolled to a fixed depth (its size grows threefold a level; real apps nest two or three);
# deeper filters are refused as a protocol error.
class _Present(rfc4511.AttributeDescription):
    tagSet = rfc4511.AttributeDescription.tagSet.tagImplicitly(
        Tag(tagClassContext, tagFormatSimple, 7)
    )


FILTER_DEPTH = 5


def _replaced(named_types: NamedTypes, replacements: dict) -> NamedTypes:
    return NamedTypes(
        *[
            type(item)(item.name, replacements.get(item.name, item.asn1Object))
            for item in named_types.namedTypes
        ]
    )


def _filter_spec(depth: int) -> rfc4511.Filter:
    replacements: dict = {"present": _Present()}
    if depth > 0:
        inner = _filter_spec(depth - 1)
        replacements["and"] = rfc4511.And(componentType=inner)
        replacements["or"] = rfc4511.Or(componentType=inner)
        replacements["notFilter"] = rfc4511.Not(
            componentType=NamedTypes(NamedType("innerNotFilter", inner))
        )
    return rfc4511.Filter(componentType=_replaced(rfc4511.Filter.componentType, replacements))


def _request_spec() -> rfc4511.LDAPMessage:
    search = rfc4511.SearchRequest(
        componentType=_replaced(
            rfc4511.SearchRequest.componentType, {"filter": _filter_spec(FILTER_DEPTH)}
        )
    )
    operation = rfc4511.ProtocolOp(
        componentType=_replaced(rfc4511.ProtocolOp.componentType, {"searchRequest": search})
    )
    return rfc4511.LDAPMessage(
        componentType=_replaced(rfc4511.LDAPMessage.componentType, {"protocolOp": operation})
    )


_REQUEST_SPEC = _request_spec()


@dataclass(frozen=True)
class BindRequest:
    message_id: int
    dn: str
    password: str | None  # None: not a simple bind


@dataclass(frozen=True)
class SearchRequest:
    message_id: int
    base: str
    scope: int
    size_limit: int
    types_only: bool
    filter: tuple
    attributes: list[str]


@dataclass(frozen=True)
class UnbindRequest:
    message_id: int


@dataclass(frozen=True)
class OtherRequest:
    message_id: int
    operation: str


def split_messages(buffer: bytes) -> tuple[list[bytes], bytes]:
    """Cut complete BER elements off the front of `buffer`; return them and the rest."""
    messages = []
    while len(buffer) >= 2:
        if buffer[0] != 0x30:
            raise ProtocolViolation("an LDAP message must be a SEQUENCE")
        first = buffer[1]
        if first < 0x80:
            header, length = 2, first
        else:
            count = first & 0x7F
            if count == 0 or count > 4:
                raise ProtocolViolation("unsupported BER length")
            if len(buffer) < 2 + count:
                break
            header, length = 2 + count, int.from_bytes(buffer[2 : 2 + count], "big")
        if length > MAX_MESSAGE:
            raise ProtocolViolation("message too large")
        if len(buffer) < header + length:
            break
        messages.append(buffer[: header + length])
        buffer = buffer[header + length :]
    return messages, buffer


def parse_request(data: bytes) -> BindRequest | SearchRequest | UnbindRequest | OtherRequest:
    try:
        message, _ = decoder.decode(data, asn1Spec=_REQUEST_SPEC)
        message_id = int(message["messageID"])
        operation = message["protocolOp"].getName()
        op = message["protocolOp"].getComponent()
    except (PyAsn1Error, ValueError, TypeError) as exc:
        raise ProtocolViolation(f"undecodable message: {exc}") from None
    if operation == "bindRequest":
        auth = op["authentication"]
        password = bytes(auth.getComponent()).decode() if auth.getName() == "simple" else None
        return BindRequest(message_id, str(op["name"]), password)
    if operation == "searchRequest":
        return SearchRequest(
            message_id=message_id,
            base=str(op["baseObject"]),
            scope=int(op["scope"]),
            size_limit=int(op["sizeLimit"]),
            types_only=bool(op["typesOnly"]),
            filter=filter_tuple(op["filter"]),
            attributes=[str(a) for a in op["attributes"]],
        )
    if operation == "unbindRequest":
        return UnbindRequest(message_id)
    return OtherRequest(message_id, operation)


def filter_tuple(asn1_filter) -> tuple:
    kind = asn1_filter.getName()
    value = asn1_filter.getComponent()
    if kind in ("and", "or"):
        return (kind, [filter_tuple(f) for f in value])
    if kind == "notFilter":
        return ("not", filter_tuple(value["innerNotFilter"]))
    if kind == "present":
        return ("present", str(value))
    simple = {
        "equalityMatch": "eq",
        "greaterOrEqual": "ge",
        "lessOrEqual": "le",
        "approxMatch": "approx",
    }
    if kind in simple:
        return (simple[kind], str(value["attributeDesc"]), _text(value["assertionValue"]))
    if kind == "substringFilter":
        initial, middles, final = None, [], None
        for part in value["substrings"]:
            text = _text(part.getComponent())
            if part.getName() == "initial":
                initial = text
            elif part.getName() == "final":
                final = text
            else:
                middles.append(text)
        return ("substring", str(value["type"]), initial, middles, final)
    return ("unsupported", kind)


def _text(value) -> str:
    return bytes(value).decode("utf-8", errors="replace")


def _message(message_id: int, operation: str):
    message = LDAPMessage()
    message["messageID"] = message_id
    message["protocolOp"].setComponentByName(operation)
    return message, message["protocolOp"].getComponentByName(operation)


def result(message_id: int, operation: str, code: int, diagnostic: str = "") -> bytes:
    message, op = _message(message_id, operation)
    op["resultCode"] = code
    op["matchedDN"] = ""
    op["diagnosticMessage"] = diagnostic
    return encoder.encode(message)


def bind_response(message_id: int, code: int, diagnostic: str = "") -> bytes:
    return result(message_id, "bindResponse", code, diagnostic)


def search_done(message_id: int, code: int = SUCCESS, diagnostic: str = "") -> bytes:
    return result(message_id, "searchResDone", code, diagnostic)


def search_entry(message_id: int, dn: str, attributes: dict[str, list[str]]) -> bytes:
    message, op = _message(message_id, "searchResEntry")
    op["object"] = dn
    attribute_list = op["attributes"]
    for index, (name, values) in enumerate(attributes.items()):
        attribute_list[index]["type"] = name
        for position, value in enumerate(values):
            attribute_list[index]["vals"][position] = value
    return encoder.encode(message)


def refusal(request: OtherRequest) -> bytes | None:
    """The "unwilling to perform" answer for a write or other request (None: no answer due)."""
    response = REFUSAL_OPS.get(request.operation)
    if response is None:
        return None
    return result(request.message_id, response, UNWILLING_TO_PERFORM, "this directory is read-only")
