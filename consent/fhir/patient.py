"""A Patient written over FHIR, read as the citizen's facts (DK-core): the CPR
number as identifier, the municipality code extension, the home address with
its position, the GP practice. The CPR number is held only in what this
returns and on the citizen; it never goes into a message."""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from fhir.resources.R4B.patient import Patient

from consent.fhir.datatypes import codings, instant, reference_id, validate_fhir
from core.cpr import (
    CPR_SYSTEM,
    D_ECPR_SYSTEM_PREFIX,
    X_ECPR_SYSTEM,
    ReplacementCpr,
    cpr_facts,
    is_replacement_cpr_system,
    normalise_replacement_cpr,
    replacement_cpr_facts,
    validate_cpr,
)
from core.deaths import death_day
from core.errors import InvalidInput
from core.fhir.patient import DK_MUNICIPALITY_EXTENSION
from core.fhir.references import LocalReference, reference_targets_checked
from core.models import MUNICIPALITY_CODE_SYSTEM
from core.services import citizen_text_checked
from core.validation import DecimalBounds, decimal_parse, is_digits, text_trimmed

GEOLOCATION_EXTENSION = "http://hl7.org/fhir/StructureDefinition/geolocation"


@dataclass
class ParsedPatient:
    """What a Patient written over FHIR says about the citizen. The CPR number
    is held only here and on the citizen; it never goes into a message."""

    cpr: str | None
    given_name: str
    family_name: str
    address_line: str
    postal_code: str
    city: str
    latitude: Decimal
    longitude: Decimal
    municipality_code: str
    gp_practice_id: int | None
    phone: str
    deceased_at: dt.datetime | None
    id: str | None
    # The day of death where ``deceasedDateTime`` gives a date alone
    # (``deceased_at`` is then its first moment in Copenhagen).
    deceased_on: dt.date | None = None
    replacement: ReplacementCpr | None = None
    # Dead, at no stated time: the element that says so (``deceasedBoolean``
    # true, or a ``deceasedDateTime`` of less than a day, ``2026-03``).
    deceased_without_time: str = ""
    # From the CPR number or replacement CPR: a death cannot lie before it.
    birth_date: dt.date | None = None
    # The references to this server's resources, looked up before it is written.
    references: list[LocalReference] = dataclasses.field(default_factory=list)


def _patient_identifiers(body: dict[str, Any]) -> tuple[str | None, ReplacementCpr | None]:
    """The Patient's CPR number and replacement CPR (X-eCPR or D-eCPR, as
    DK-core slices them): at most one of each, at least one of them."""
    identifiers = [i for i in body.get("identifier") or [] if i.get("value")]
    numbers = cpr_numbers(identifiers)
    replacements = [i for i in identifiers if is_replacement_cpr_system(i.get("system"))]
    if len(numbers) > 1 or len(replacements) > 1 or not (numbers or replacements):
        raise InvalidInput(
            "patient.cpr_required",
            f"A Patient carries one CPR number ({CPR_SYSTEM}) or, for a person without "
            f"one, one replacement CPR ({X_ECPR_SYSTEM} or {D_ECPR_SYSTEM_PREFIX}<issuer>) "
            "as identifier.",
            field="identifier",
            params={"cpr": CPR_SYSTEM, "x_ecpr": X_ECPR_SYSTEM, "d_ecpr": D_ECPR_SYSTEM_PREFIX},
        )
    try:
        cpr = validate_cpr(numbers[0]) if numbers else None
        replacement = (
            normalise_replacement_cpr(replacements[0]["value"], replacements[0]["system"])
            if replacements
            else None
        )
    except InvalidInput as exc:
        # core's message names the problem, never the number.
        raise InvalidInput(exc.code, exc.message, field="identifier", params=exc.params) from None
    return cpr, replacement


def cpr_numbers(identifiers: list[Any]) -> list[str]:
    """The CPR numbers among a Patient's identifiers. DK-core fixes a CPR
    identifier's ``use`` to ``official``: one marked ``old``, ``secondary``,
    ``temp`` or ``usual`` is not the citizen's CPR number, and is refused
    rather than registered (or searched) as hers. Read so on every door that
    takes a Patient (FHIR, partners' messages)."""
    numbers = []
    for identifier in identifiers:
        if not isinstance(identifier, dict) or identifier.get("system") != CPR_SYSTEM:
            continue
        if identifier.get("use") not in (None, "official"):
            raise InvalidInput(
                "patient.cpr_use_invalid",
                "The citizen's CPR number is the identifier with use official (DK-core); "
                "leave out an old or secondary CPR number.",
                field="identifier",
            )
        if identifier.get("value"):
            numbers.append(str(identifier["value"]))
    return numbers


def cpr_searched(raw: str) -> tuple[str | None, ReplacementCpr | None]:
    """The CPR number or replacement CPR a Patient search's ``identifier`` gives
    (``[system|]value``), refused when it cannot be one: a number whose first
    six digits are no date names nobody, and is refused as at registration
    (``cpr.invalid``), never answered "no such citizen"."""
    system, _, value = raw.rpartition("|")
    try:
        if is_replacement_cpr_system(system):
            # A replacement CPR is searched as a CPR number is (DK-core x-ecpr / d-ecpr).
            return None, normalise_replacement_cpr(value, system)
        if system in ("", CPR_SYSTEM) and is_digits(value) and len(value) == 10:
            cpr_facts(value)
            return value, None
    except InvalidInput as exc:
        raise InvalidInput(exc.code, exc.message, field="identifier", params=exc.params) from None
    raise InvalidInput(
        "search.identifier_invalid",
        f"identifier is {CPR_SYSTEM}|<10 digits>, or a replacement CPR as "
        f"{X_ECPR_SYSTEM}|<X-eCPR> or {D_ECPR_SYSTEM_PREFIX}<issuer>|<D-eCPR>, "
        "in the form body.",
        field="identifier",
        params={"cpr": CPR_SYSTEM, "x_ecpr": X_ECPR_SYSTEM, "d_ecpr": D_ECPR_SYSTEM_PREFIX},
    )


def _the_one(candidates: list[dict[str, Any]], error: InvalidInput) -> dict[str, Any]:
    if len(candidates) > 1:
        raise error
    return candidates[0] if candidates else {}


def chosen_name(body: dict[str, Any]) -> dict[str, Any]:
    """The citizen's name: the ``official`` one (DK-core: as in the CPR
    register), else the one name given; of two candidates neither is taken."""
    names = _objects(body.get("name"))
    official = [n for n in names if n.get("use") == "official"]
    return _the_one(
        official or [n for n in names if n.get("use") != "old"],
        InvalidInput(
            "patient.name_ambiguous",
            "Give one name with use official: the name in the CPR register.",
            field="name",
        ),
    )


def chosen_home_address(body: dict[str, Any]) -> dict[str, Any]:
    """The citizen's home address, where nurses drive: the one with use
    ``home``, else the one without a use; of two, neither is taken."""
    addresses = _objects(body.get("address"))
    home = [a for a in addresses if a.get("use") == "home"]
    return _the_one(
        home or [a for a in addresses if not a.get("use")],
        InvalidInput(
            "patient.address_ambiguous",
            "A citizen has one home address: give one address with use home.",
            field="address",
        ),
    )


def chosen_phone(body: dict[str, Any]) -> str:
    """The number nurses call: the one phone, or of several the one ranked
    first (``rank``); of two equally ranked, neither is taken."""
    phones = [
        t
        for t in _objects(body.get("telecom"))
        if t.get("system") == "phone" and t.get("value") and t.get("use") != "old"
    ]
    if len(phones) > 1:
        ranks = [t.get("rank") for t in phones]
        first = min((r for r in ranks if isinstance(r, int)), default=None)
        phones = [t for t in phones if first is not None and t.get("rank") == first]
        if len(phones) != 1:
            raise InvalidInput(
                "patient.phone_ambiguous",
                "Give one phone number, or rank the one to call first (rank 1).",
                field="telecom",
            )
    return str(phones[0]["value"]) if phones else ""


def chosen_general_practitioner(body: dict[str, Any]) -> dict[str, Any] | None:
    """The citizen's own GP practice: the record is disclosed to her (R3),
    so of two given neither is taken."""
    practitioners = _objects(body.get("generalPractitioner"))
    if len(practitioners) > 1:
        raise InvalidInput(
            "patient.gp_ambiguous",
            "A citizen has one GP practice: give one generalPractitioner.",
            field="generalPractitioner",
        )
    return practitioners[0] if practitioners else None


def refuse_unstored(body: dict[str, Any]) -> None:
    """What a Patient says that the platform does not keep is refused, never
    dropped: an inactive record (``active`` false), links to other Patients
    (``link``, such as a replaced record) and contact persons (``contact``)."""
    if body.get("active") is False:
        raise InvalidInput(
            "patient.inactive_unsupported",
            "The platform keeps only active citizens; leave out active or set it to true.",
            field="active",
        )
    for element in ("link", "contact"):
        if body.get(element):
            raise InvalidInput(
                "patient.element_unsupported",
                f"The platform does not keep {element} of a Patient; leave it out.",
                field=element,
                params={"element": element},
            )


# A device's position may carry more decimals than the six kept (about 10 cm):
# they are rounded, but the number itself must be a plain one of sane size.
_POSITION = DecimalBounds(max_digits=3 + 15, decimal_places=15)


def _objects(value: object) -> list[dict[str, Any]]:
    return [e for e in value if isinstance(e, dict)] if isinstance(value, list) else []


def _geolocation(address: dict[str, Any]) -> tuple[Decimal, Decimal]:
    geo: dict[str, Any] = next(
        (e for e in _objects(address.get("extension")) if e.get("url") == GEOLOCATION_EXTENSION),
        {},
    )
    parts = {e.get("url"): e.get("valueDecimal") for e in _objects(geo.get("extension"))}
    if parts.get("latitude") is None or parts.get("longitude") is None:
        raise InvalidInput(
            "patient.geolocation_required",
            "The home address needs its position (extension "
            f"{GEOLOCATION_EXTENSION} with latitude and longitude): nurses drive there.",
            field="address.extension",
            params={"extension": GEOLOCATION_EXTENSION},
        )
    latitude, longitude = (
        decimal_parse(
            parts[name],
            _POSITION,
            field="address.extension",
            code="patient.geolocation_invalid",
        )
        for name in ("latitude", "longitude")
    )
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        raise InvalidInput(
            "patient.geolocation_invalid",
            "latitude is -90..90 and longitude -180..180.",
            field="address.extension",
        )
    return latitude.quantize(Decimal("0.000001")), longitude.quantize(Decimal("0.000001"))


def parse_patient(data: dict[str, Any]) -> ParsedPatient:
    """Validate a Patient (R4B) and read the citizen's facts from it (DK-core:
    CPR identifier, municipality code extension, home address with position)."""
    body = validate_fhir(data, expected_type="Patient")
    # Each reference of a type its element takes, wherever it sits.
    references = reference_targets_checked(body, Patient)
    cpr, replacement = _patient_identifiers(body)
    refuse_unstored(body)
    name = chosen_name(body)
    # A null in a list holds the place of a value given only as an extension.
    given = text_trimmed(" ".join(g for g in name.get("given") or [] if isinstance(g, str)))
    family = text_trimmed(str(name.get("family") or ""))
    if not given or not family:
        raise InvalidInput(
            "patient.name_required", "name needs family and given names.", field="name"
        )
    if cpr:
        facts = cpr_facts(cpr)
    else:
        assert replacement is not None  # _patient_identifiers gives one of them
        facts = replacement_cpr_facts(replacement)
    if "birthDate" in body and body["birthDate"] != facts.birth_date.isoformat():
        raise InvalidInput(
            "patient.cpr_mismatch",
            "birthDate does not agree with the CPR number; leave it out or correct it.",
            field="birthDate",
        )
    # "other"/"unknown" are accepted; the platform keeps the legal sex the CPR number carries.
    if body.get("gender") in ("male", "female") and body["gender"] != facts.sex:
        raise InvalidInput(
            "patient.cpr_mismatch",
            "gender does not agree with the CPR number; leave it out or correct it.",
            field="gender",
        )
    address = chosen_home_address(body)
    line = text_trimmed(" ".join(x for x in address.get("line") or [] if isinstance(x, str)))
    postal_code = str(address.get("postalCode") or "").strip()
    city = text_trimmed(str(address.get("city") or ""))
    if not line or not city or not (len(postal_code) == 4 and is_digits(postal_code)):
        raise InvalidInput(
            "patient.address_required",
            "A home address needs line, a four-digit postalCode and city.",
            field="address",
        )
    latitude, longitude = _geolocation(address)
    municipalities = {
        str(c.get("code") or "")
        for e in body.get("extension") or []
        if e.get("url") == DK_MUNICIPALITY_EXTENSION
        for c in codings(e.get("valueCodeableConcept"))
        if c.get("system") == MUNICIPALITY_CODE_SYSTEM
    }
    # The municipality decides who serves the citizen and who gets the
    # hand-back (R1, R11): of two codes, the first given was taken silently.
    if len(municipalities) > 1:
        raise InvalidInput(
            "patient.municipality_ambiguous",
            f"A citizen lives in one municipality: give one code in {MUNICIPALITY_CODE_SYSTEM} "
            f"in the extension {DK_MUNICIPALITY_EXTENSION}.",
            field="extension",
            params={"extension": DK_MUNICIPALITY_EXTENSION, "system": MUNICIPALITY_CODE_SYSTEM},
        )
    municipality = next(iter(municipalities), "")
    if not municipality:
        raise InvalidInput(
            "patient.municipality_required",
            f"The municipality of residence is the extension {DK_MUNICIPALITY_EXTENSION} "
            f"with a code in {MUNICIPALITY_CODE_SYSTEM}.",
            field="extension",
            params={"extension": DK_MUNICIPALITY_EXTENSION, "system": MUNICIPALITY_CODE_SYSTEM},
        )
    practitioner = chosen_general_practitioner(body)
    gp_id = (
        int(reference_id(practitioner, "Organization", "generalPractitioner"))
        if practitioner is not None
        else None
    )
    phone = chosen_phone(body)
    deceased = body.get("deceasedDateTime")
    return ParsedPatient(
        cpr=cpr,
        replacement=replacement,
        # Longer than the citizen's columns keep is refused, never cut to fit.
        given_name=citizen_text_checked("given_name", given, element="name.given"),
        family_name=citizen_text_checked("family_name", family, element="name.family"),
        address_line=citizen_text_checked("address_line", line, element="address.line"),
        postal_code=postal_code,
        city=citizen_text_checked("city", city, element="address.city"),
        latitude=latitude,
        longitude=longitude,
        municipality_code=municipality,
        gp_practice_id=gp_id,
        phone=citizen_text_checked("phone", phone, element="telecom"),
        deceased_at=instant(deceased, field="deceasedDateTime")
        if isinstance(deceased, str)
        else None,
        id=body.get("id"),
        deceased_on=death_day(deceased),
        deceased_without_time=_death_without_time(body),
        birth_date=facts.birth_date,
        references=references,
    )


def _death_without_time(body: dict[str, Any]) -> str:
    """The element that states a death without its time, if one does:
    ``deceasedBoolean`` true, or a ``deceasedDateTime`` of a month or a year."""
    if body.get("deceasedBoolean") is True:
        return "deceasedBoolean"
    stated = body.get("deceasedDateTime")
    if isinstance(stated, str) and stated and instant(stated, field="deceasedDateTime") is None:
        return "deceasedDateTime"
    return ""
