"""The CapabilityStatement lists exactly what is implemented.

Each app registers its resources when it starts (``AppConfig.ready``); the
statement at ``/fhir/metadata`` is built from this registry, so it cannot claim
more than the code serves.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone
from fhir.resources.R4B.capabilitystatement import CapabilityStatement

from core.times import fhir_instant

FHIR_VERSION = "4.0.1"
# FHIR R4's way to say which parameters a search must carry.
SEARCH_COMBINATION_EXTENSION = (
    "http://hl7.org/fhir/StructureDefinition/capabilitystatement-search-parameter-combination"
)


@dataclass(frozen=True)
class SearchParam:
    name: str
    type: str
    documentation: str = ""


@dataclass
class ResourceCapability:
    type: str
    interactions: list[str]
    search_params: list[SearchParam] = field(default_factory=list)
    operations: list[tuple[str, str]] = field(default_factory=list)  # (name, definition)
    versioned: bool = False
    documentation: str = ""
    # The parameters a search must carry, as alternatives: a search is answered
    # only if it has every parameter of one of them (``[("patient",),
    # ("subject",)]``: patient or subject). Empty: nothing is required.
    required_search: list[tuple[str, ...]] = field(default_factory=list)
    # A version read (vread) that answers earlier versions too, not only the
    # current one: set by the route that serves it (``FHIRResource.urls``).
    read_history: bool = False

    def __post_init__(self) -> None:
        if self.read_history and "vread" not in self.interactions:
            raise ValueError(f"{self.type}: readHistory without the vread interaction")
        declared = {p.name for p in self.search_params}
        missing = {n for combination in self.required_search for n in combination} - declared
        if missing:
            # The statement cannot require what it does not declare.
            raise ValueError(
                f"{self.type}: required search parameters {sorted(missing)} are not declared"
            )


_registry: dict[str, ResourceCapability] = {}
_system_interactions: list[str] = []
# Operations on the base (``/fhir/$<name>``): (name, definition, documentation).
_system_operations: list[tuple[str, str, str]] = []
_messaging: list[str] = []


@dataclass(frozen=True)
class SupportedMessage:
    """One message the platform takes (``receiver``) or sends (``sender``),
    named by the canonical of its MessageDefinition."""

    mode: str
    definition: str

    def __post_init__(self) -> None:
        if self.mode not in {"sender", "receiver"}:
            raise ValueError(f"{self.definition}: mode {self.mode!r} is not sender or receiver")


_supported_messages: list[SupportedMessage] = []
# Where messages are received, under the FHIR base (``$process-message``).
_messaging_endpoint: list[str] = []
# FHIR R4's message transports (CapabilityStatement.messaging.endpoint.protocol).
MESSAGE_TRANSPORT_SYSTEM = "http://terminology.hl7.org/CodeSystem/message-transport"


def register_resource(capability: ResourceCapability) -> None:
    """Add a resource type; a second registration of the same type (two apps
    serving one type, e.g. Encounter) merges interactions and parameters."""
    existing = _registry.get(capability.type)
    if existing is None:
        _registry[capability.type] = capability
        return
    for code in capability.interactions:
        if code not in existing.interactions:
            existing.interactions.append(code)
    known = {p.name for p in existing.search_params}
    existing.search_params.extend(p for p in capability.search_params if p.name not in known)
    existing.operations.extend(o for o in capability.operations if o not in existing.operations)
    existing.required_search.extend(
        c for c in capability.required_search if c not in existing.required_search
    )
    existing.versioned = existing.versioned or capability.versioned
    existing.read_history = existing.read_history or capability.read_history
    if capability.documentation:
        existing.documentation = " ".join(
            filter(None, [existing.documentation, capability.documentation])
        )


def register_messaging(
    documentation: str,
    supported: list[SupportedMessage] | tuple[SupportedMessage, ...] = (),
    endpoint: str = "",
) -> None:
    """A paragraph of ``CapabilityStatement.messaging.documentation``: which
    messages an app exchanges, and under which standard; the messages it takes
    and sends (``messaging.supportedMessage``), and the path under the FHIR
    base where it receives them (``messaging.endpoint``)."""
    if documentation not in _messaging:
        _messaging.append(documentation)
    _supported_messages.extend(m for m in supported if m not in _supported_messages)
    if endpoint and endpoint not in _messaging_endpoint:
        _messaging_endpoint.append(endpoint)


def _messaging_statement(base_url: str) -> list[dict[str, Any]]:
    if not _messaging and not _supported_messages:
        return []
    messaging: dict[str, Any] = {}
    if _messaging_endpoint:
        messaging["endpoint"] = [
            {
                "protocol": {"system": MESSAGE_TRANSPORT_SYSTEM, "code": "http"},
                "address": f"{base_url.rstrip('/')}/{path.lstrip('/')}",
            }
            for path in _messaging_endpoint
        ]
    if _messaging:
        messaging["documentation"] = "\n\n".join(_messaging)
    if _supported_messages:
        messaging["supportedMessage"] = [
            {"mode": m.mode, "definition": m.definition} for m in _supported_messages
        ]
    return [messaging]


def register_system_interaction(code: str) -> None:
    if code not in _system_interactions:
        _system_interactions.append(code)


def register_system_operation(name: str, definition: str, documentation: str = "") -> None:
    """An operation served on the base (``POST /fhir/$<name>``), listed in
    ``rest.operation``: on a resource entry it would say ``/fhir/<Type>/$<name>``,
    which is not served."""
    if not any(op[0] == name for op in _system_operations):
        _system_operations.append((name, definition, documentation))


def registered_resources() -> dict[str, ResourceCapability]:
    return dict(_registry)


def _param_documentation(cap: ResourceCapability, param: SearchParam) -> str:
    """The parameter's documentation, opening with whether a search needs it."""
    holding = [c for c in cap.required_search if param.name in c]
    if not holding:
        return param.documentation
    if len(holding) == len(cap.required_search):
        need = "Required: every search carries it."
    else:
        others = sorted({n for c in cap.required_search if c not in holding for n in c})
        need = f"Required unless {' or '.join(others)} is given."
    return " ".join(filter(None, [need, param.documentation]))


def _search_combination(cap: ResourceCapability, combination: tuple[str, ...]) -> dict[str, Any]:
    optional = [p.name for p in cap.search_params if p.name not in combination]
    return {
        "url": SEARCH_COMBINATION_EXTENSION,
        "extension": [{"url": "required", "valueString": name} for name in combination]
        + [{"url": "optional", "valueString": name} for name in optional],
    }


def capability_statement(base_url: str) -> dict[str, Any]:
    resources = []
    for cap in sorted(_registry.values(), key=lambda c: c.type):
        entry: dict[str, Any] = {
            "type": cap.type,
            "interaction": [{"code": code} for code in cap.interactions],
            "versioning": "versioned-update" if cap.versioned else "no-version",
            "readHistory": cap.read_history,
            "updateCreate": False,
            "conditionalCreate": False,
            "conditionalUpdate": False,
            # A versioned type's read carries its ETag and Last-Modified, and
            # answers If-None-Match and If-Modified-Since (core.fhir.views).
            "conditionalRead": "full-support" if cap.versioned else "not-supported",
        }
        if cap.documentation:
            entry["documentation"] = cap.documentation
        if cap.search_params:
            entry["searchParam"] = [
                {
                    "name": p.name,
                    "type": p.type,
                    **({"documentation": text} if (text := _param_documentation(cap, p)) else {}),
                }
                for p in cap.search_params
            ]
        if cap.required_search:
            entry["extension"] = [
                _search_combination(cap, combination) for combination in cap.required_search
            ]
        if cap.operations:
            entry["operation"] = [{"name": n, "definition": d} for n, d in cap.operations]
        resources.append(entry)
    rest: dict[str, Any] = {
        "mode": "server",
        "documentation": (
            "A read, a version read, $everything and metadata answer whole resources:"
            " their query takes _format (JSON), _pretty and _summary=false only (metadata"
            " mode=full too; no TerminologyCapabilities is served); any other parameter"
            " (_summary=true, _elements, …) is refused (400 read.param_unknown; on"
            " $everything and $insight 400 operation.param_unknown: their start, end,"
            " _since, _type and _count are not served), whatever"
            " Prefer: handling says. A search refuses a parameter it does not declare"
            " (400 search.param_unknown) alike. _pretty is true or false, _total none,"
            " estimate or accurate (a total given is exact), _totalMethod count; any"
            " other value is refused (400 search.param_invalid). History is not served"
            " (history-instance, history-type, history-system): GET …/_history answers"
            " 405 with an OperationOutcome not-supported; a version read"
            " (…/_history/<vid>) is served where vread is listed. Any other interaction"
            " a type listed here does not list — a search (GET [type], POST"
            " [type]/_search) without search-type, a create (POST [type]), an update"
            " (PUT), patch (PATCH) or delete (DELETE) of an instance, a conditional"
            " update or delete of a type — answers 405 with an OperationOutcome"
            " not-supported alike, its Allow header naming the methods the path"
            " serves; a type not listed answers 404. A read or version"
            " read of a type whose conditionalRead is full-support answers 304 Not"
            " Modified, without a body, to If-None-Match naming its ETag or to"
            " If-Modified-Since not before its Last-Modified, once the reader may"
            " read it (the read is audited as any other). A create is never"
            " conditional: If-None-Exist is refused (400"
            " fhir.conditional_create_unsupported), and If-Match, which names the version"
            " a versioned update (PUT) replaces, is refused on a POST (412"
            " fhir.if_match_on_post), in a transaction entry's request.ifMatch too;"
            " nothing is written."
        ),
        "security": {
            "cors": False,
            "description": (
                "Staff: Authorization: Bearer with a token from POST /api/auth/token"
                " (password and the code of a TOTP app), or the platform's own signed-in"
                " page session. Systems: OAuth 2.0 client credentials, a Bearer token from"
                " POST /api/auth/oauth/token whose SMART backend-services scopes"
                " (system/<Type>.read, system/*.read) are a ceiling over the system's"
                " role. Partners' message Bundles to $process-message are signed with"
                " HMAC-SHA256 instead. Every read and write of citizen data passes the"
                " consent gate and is audited; /fhir/metadata is open to anyone."
            ),
        },
        "resource": resources,
    }
    if _system_interactions:
        rest["interaction"] = [{"code": c} for c in _system_interactions]
    if _system_operations:
        rest["operation"] = [
            {"name": n, "definition": d, **({"documentation": doc} if doc else {})}
            for n, d, doc in _system_operations
        ]
    statement = CapabilityStatement.model_validate(
        {
            "resourceType": "CapabilityStatement",
            "status": "active",
            "date": fhir_instant(timezone.now()),
            "publisher": "Tværkommunal akutfunktion",
            "kind": "instance",
            "software": {"name": "tvaerakut"},
            "implementation": {
                "description": "Shared platform of the cross-municipal acute function",
                "url": base_url,
            },
            "fhirVersion": FHIR_VERSION,
            "format": ["application/fhir+json"],
            "rest": [rest],
            **({"messaging": messaging} if (messaging := _messaging_statement(base_url)) else {}),
        }
    )
    return statement.model_dump(mode="json", exclude_none=True)
