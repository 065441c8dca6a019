"""The citizen's refusals and consents (R4) as FHIR Consent: a directive out as
the resource, and a Consent in as what the store needs — recipients
(organisations and professionals), purposes (HL7 v3 PurposeOfUse), the
period, the data period of a refusal, and how the citizen gave it."""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext_lazy
from fhir.resources.R4B.consent import Consent

from consent.fhir.datatypes import codings, period_bound, reference_id, validate_fhir
from consent.models import ConsentDirective
from core.errors import InvalidInput
from core.fhir.references import LocalReference, reference_targets_checked
from core.purposes import AUDIT, EMERGENCY, PURPOSE_BY_CODE, PURPOSE_CODES
from core.times import fhir_instant
from core.validation import is_digits

PURPOSE_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
GIVEN_HOW_EXTENSION = "urn:tvaerakut:fhir:consent-given-how"
SUB_UNITS_EXTENSION = "urn:tvaerakut:fhir:consent-include-sub-units"
RECORDED_BY_EXTENSION = "urn:tvaerakut:fhir:recorded-by"
WITHDRAWN_EXTENSION = "urn:tvaerakut:fhir:consent-withdrawn"
PARTICIPATION_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
# The rule a directive follows, by its provision type: a refusal opts out of
# disclosure, a consent opts in.
POLICY_RULE_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
POLICY_RULES = {"deny": "OPTOUT", "permit": "OPTIN"}


def _recipient(reference: str, display: str) -> dict[str, Any]:
    """A recipient the directive names (an organisation or a professional)."""
    return {
        "role": {"coding": [{"system": PARTICIPATION_SYSTEM, "code": "IRCP"}]},
        "reference": {"reference": reference, "display": display},
    }


def fhir_period_end(end: dt.datetime) -> str:
    """A stored end (exclusive: the first moment after) as FHIR's Period.end,
    which is inclusive: an end at a Copenhagen midnight is the whole day
    before it, written as that date (``end: 2030-03-31`` sent is read back
    so); any other instant as it was sent, FHIR's end being "up to" it."""
    local = timezone.localtime(end)
    if local.time() == dt.time(0):
        return (local.date() - dt.timedelta(days=1)).isoformat()
    return fhir_instant(end)


def consent_resource(directive: ConsentDirective) -> dict[str, Any]:
    withdrawal = getattr(directive, "withdrawal", None)
    provision: dict[str, Any] = {
        "type": directive.provision,
        "period": {
            "start": fhir_instant(directive.period_start),
            **({"end": fhir_period_end(directive.period_end)} if directive.period_end else {}),
        },
    }
    actors = [
        *(
            _recipient(f"Organization/{o.pk}", o.name)
            for o in directive.recipient_organisations.all()
        ),
        *(
            _recipient(f"Practitioner/{u.pk}", u.display_name)
            for u in directive.recipient_users.all()
        ),
    ]
    if actors:
        provision["actor"] = actors
    if directive.data_period_start or directive.data_period_end:
        provision["dataPeriod"] = {
            **(
                {"start": fhir_instant(directive.data_period_start)}
                if directive.data_period_start
                else {}
            ),
            **(
                {"end": fhir_period_end(directive.data_period_end)}
                if directive.data_period_end
                else {}
            ),
        }
    if directive.purposes:
        provision["purpose"] = [
            {"system": PURPOSE_SYSTEM, "code": PURPOSE_CODES[p]} for p in directive.purposes
        ]
    extensions: list[dict[str, Any]] = [
        {"url": GIVEN_HOW_EXTENSION, "valueCode": directive.given_how},
        {"url": SUB_UNITS_EXTENSION, "valueBoolean": directive.include_sub_units},
        {
            "url": RECORDED_BY_EXTENSION,
            "valueReference": {
                "reference": f"Practitioner/{directive.recorded_by_id}",
                "display": directive.recorded_by.display_name,
            },
        },
    ]
    if withdrawal is not None:
        extensions.append(
            {
                "url": WITHDRAWN_EXTENSION,
                "extension": [
                    {"url": "at", "valueDateTime": fhir_instant(withdrawal.recorded_at)},
                    {"url": "how", "valueCode": withdrawal.given_how},
                    {
                        "url": "by",
                        "valueReference": {
                            "reference": f"Practitioner/{withdrawal.recorded_by_id}"
                        },
                    },
                ],
            }
        )
    return {
        "resourceType": "Consent",
        "id": str(directive.pk),
        "extension": extensions,
        "status": "inactive" if withdrawal is not None else "active",
        "scope": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/consentscope",
                    "code": "patient-privacy",
                }
            ]
        },
        "category": [{"coding": [{"system": "http://loinc.org", "code": "59284-0"}]}],
        "patient": {"reference": f"Patient/{directive.citizen_id}"},
        "dateTime": fhir_instant(directive.recorded_at),
        "organization": [
            {
                "reference": f"Organization/{directive.recorded_by_organisation_id}",
                "display": directive.recorded_by_organisation.name,
            }
        ],
        "policyRule": {
            "coding": [{"system": POLICY_RULE_SYSTEM, "code": POLICY_RULES[directive.provision]}]
        },
        "provision": provision,
    }


@dataclass
class ParsedConsent:
    citizen_id: str
    provision: str
    organisation_ids: list[int]
    user_ids: list[int]
    purposes: list[str]
    period_start: dt.datetime | None
    period_end: dt.datetime | None
    given_how: str
    include_sub_units: bool
    data_period_start: dt.datetime | None = None
    data_period_end: dt.datetime | None = None
    # The references to this server's resources, looked up once the gate let the writer in.
    references: list[LocalReference] = dataclasses.field(default_factory=list)


def _period(
    provision: dict[str, Any], element: str, *, invalid: str
) -> tuple[dt.datetime | None, dt.datetime | None]:
    """``provision.<element>`` as instants (:func:`period_bound`); a period that
    ends before it starts is refused with the code ``invalid``."""
    place = f"provision.{element}"
    period = provision.get(element) or {}
    start = period_bound(period.get("start"), end=False, field=f"{place}.start")
    end = period_bound(period.get("end"), end=True, field=f"{place}.end")
    if start and end and end <= start:
        raise InvalidInput(
            invalid, f"{place} ends before it starts.", field=place, params={"element": place}
        )
    return start, end


# What a directive holds beside its type: whom (actor), for what (purpose),
# when (period) and which data by date (dataPeriod). The other ways FHIR
# narrows a provision — nested exceptions, resource classes, codes, security
# labels, named data — are not modelled: a permit narrowed by one of them would
# be stored as a permit of everything, lifting a refusal the citizen kept.
UNSUPPORTED_PROVISION = ("provision", "class", "code", "data", "securityLabel")
# The actions a directive covers: reading the shared record and disclosing it.
CONSENT_ACTION_SYSTEM = "http://terminology.hl7.org/CodeSystem/consentaction"
COVERED_ACTIONS = frozenset({"access", "disclose"})
# Why a narrower directive is refused, in the reader's language (core.messages).
_ONLY_WHOM_WHAT_WHEN = gettext_lazy(
    "a directive names its recipients (actor), purposes, period and data period only. "
    "Send each exception as a Consent of its own."
)
_ONLY_ACCESS_DISCLOSE = gettext_lazy(
    "a directive covers reading and disclosing the shared record (access or disclose in "
    "http://terminology.hl7.org/CodeSystem/consentaction), nothing narrower."
)


# Purposes no directive rules: the gate decides an emergency by break-the-glass
# alone and lets the auditor make the insight report whatever the citizen
# said, so a refusal (or consent) of either would be recorded and shown to the
# citizen while it refused (or lifted) nothing.
UNDIRECTED_PURPOSES = frozenset({EMERGENCY, AUDIT})


def _check_in_force_and_whole(body: dict[str, Any], provision: dict[str, Any]) -> None:
    """A directive the store can honour exactly as sent, or a refusal."""
    if body.get("status") != "active":
        # A draft, a proposal or a rejected Consent is not the citizen's word;
        # a withdrawal is $withdraw on the directive it ends.
        raise InvalidInput(
            "consent.status_not_active",
            "Only a Consent in force (status active) is recorded; end one with $withdraw.",
            field="status",
        )
    for element in UNSUPPORTED_PROVISION:
        if provision.get(element):
            raise InvalidInput(
                "consent.provision_unsupported",
                f"provision.{element} is not supported: a directive names its recipients "
                "(actor), purposes, period and data period only. Send each exception as a "
                "Consent of its own.",
                field=f"provision.{element}",
                params={"element": f"provision.{element}", "why": _ONLY_WHOM_WHAT_WHEN},
            )
    for index, concept in enumerate(provision.get("action") or []):
        for coding in concept.get("coding") or []:
            if (
                coding.get("system") != CONSENT_ACTION_SYSTEM
                or coding.get("code") not in COVERED_ACTIONS
            ):
                raise InvalidInput(
                    "consent.provision_unsupported",
                    "provision.action is access or disclose "
                    f"({CONSENT_ACTION_SYSTEM}): a directive covers reading and disclosing "
                    "the shared record, nothing narrower.",
                    params={"element": "provision.action", "why": _ONLY_ACCESS_DISCLOSE},
                    field=f"provision.action[{index}]",
                )


# What a directive is: the citizen's say over who sees her shared record
# (consentscope ``patient-privacy``), a patient consent as a privacy directive
# is categorised. A Consent to treatment or research, or an advance directive,
# is another thing: stored as a directive, its permit would lift her refusals.
SCOPE_SYSTEM = "http://terminology.hl7.org/CodeSystem/consentscope"
PRIVACY_SCOPE = "patient-privacy"
PRIVACY_CATEGORIES = frozenset(
    {
        ("http://loinc.org", "59284-0"),  # Patient consent
        ("http://loinc.org", "64292-6"),  # Release of information consent
        ("http://terminology.hl7.org/CodeSystem/v3-ActCode", "INFA"),  # information access
        ("http://terminology.hl7.org/CodeSystem/v3-ActCode", "INFADISC"),  # ... and disclosure
    }
)
_CATEGORIES_NAMED = ", ".join(f"{system}|{code}" for system, code in sorted(PRIVACY_CATEGORIES))


def _check_privacy_directive(body: dict[str, Any]) -> None:
    """``scope`` is patient-privacy and every ``category`` coding names a
    privacy consent: a Consent of any other kind is refused, never recorded
    as a refusal or a consent of disclosure."""
    scope = [
        (c.get("system"), c.get("code")) for c in (body.get("scope") or {}).get("coding") or []
    ]
    if not scope or any(
        system not in (None, SCOPE_SYSTEM) or code != PRIVACY_SCOPE for system, code in scope
    ):
        raise InvalidInput(
            "consent.scope_unsupported",
            "scope is patient-privacy (http://terminology.hl7.org/CodeSystem/consentscope): "
            "a directive is the citizen's say over who sees her shared record, not a consent "
            "to treatment or research.",
            field="scope",
        )
    for index, concept in enumerate(body.get("category") or []):
        codings = concept.get("coding") or []
        if not codings or any(
            (c.get("system"), c.get("code")) not in PRIVACY_CATEGORIES for c in codings
        ):
            raise InvalidInput(
                "consent.category_unsupported",
                f"category is a privacy consent: {_CATEGORIES_NAMED}.",
                field=f"category[{index}]",
                params={"codes": _CATEGORIES_NAMED},
            )


def _extension(body: dict[str, Any], url: str, value: str, refused: InvalidInput) -> Any:
    """The one value of the directive's extension ``url`` (``None`` when it is
    not given). Given twice, or with another kind of value, it leaves open what
    the citizen said: ``refused``."""
    found = [e for e in body.get("extension") or [] if e.get("url") == url]
    if not found:
        return None
    if len(found) > 1 or value not in found[0]:
        raise refused
    return found[0][value]


def _check_policy_rule(body: dict[str, Any], kind: str) -> None:
    """``policyRule``, when coded, is the rule the provision follows: OPTOUT
    for a refusal, OPTIN for a consent. A rule saying otherwise, or one we do
    not know, leaves open what the citizen said; recorded by the provision
    alone, a Consent that opts out with a permit (or omits the type) would lift
    or impose a refusal the citizen did not give."""
    for index, coding in enumerate((body.get("policyRule") or {}).get("coding") or []):
        place = f"policyRule.coding[{index}]"
        if (
            coding.get("system") != POLICY_RULE_SYSTEM
            or coding.get("code") not in POLICY_RULES.values()
        ):
            raise InvalidInput(
                "consent.policy_rule_unknown",
                "policyRule is OPTOUT (a refusal) or OPTIN (a consent) in "
                "http://terminology.hl7.org/CodeSystem/v3-ActCode.",
                field=place,
            )
        if coding.get("code") != POLICY_RULES[kind]:
            raise InvalidInput(
                "consent.policy_rule_conflict",
                "policyRule and provision.type disagree: a refusal (deny) is OPTOUT, "
                "a consent (permit) is OPTIN.",
                field=place,
            )


# The roles of an actor a directive is about: who receives the record
# (v3-ParticipationType; IRCP is what the platform itself writes).
RECIPIENT_ROLES = frozenset({"IRCP", "PRCP", "TRC", "RCV"})


def _check_recipient_role(actor: dict[str, Any], index: int) -> None:
    """A directive refuses (or permits) disclosure to its actors as
    recipients. An actor coded in another role (the author, the custodian,
    the verifier) was read as a recipient all the same, so the organisation
    that recorded a citizen's refusal was refused her record. A role given
    as text only is a person's words and is read as before."""
    for coding in codings(actor.get("role")):
        if coding.get("system") in (None, PARTICIPATION_SYSTEM) and (
            coding.get("code") in RECIPIENT_ROLES
        ):
            continue
        element = f"provision.actor[{index}].role"
        codes = f"{', '.join(sorted(RECIPIENT_ROLES))} ({PARTICIPATION_SYSTEM})"
        raise InvalidInput(
            "consent.actor_role_unsupported",
            f"{element} names a recipient of the record: {codes}.",
            field=element,
            params={"element": element, "codes": codes},
        )


def parse_consent(data: dict[str, Any]) -> ParsedConsent:
    body = validate_fhir(data, expected_type="Consent")
    # Each reference of a type its element takes, wherever it sits.
    references = reference_targets_checked(body, Consent)
    citizen_id = reference_id(body.get("patient"), "Patient", "patient")
    provision = body.get("provision") or {}
    kind = provision.get("type") or "deny"
    if kind not in ("deny", "permit"):
        raise InvalidInput(
            "consent.provision_invalid", "provision.type is deny or permit.", field="provision.type"
        )
    _check_in_force_and_whole(body, provision)
    _check_privacy_directive(body)
    _check_policy_rule(body, kind)
    org_ids: list[int] = []
    user_ids: list[int] = []
    for index, actor in enumerate(provision.get("actor") or []):
        _check_recipient_role(actor, index)
        reference = str((actor.get("reference") or {}).get("reference") or "")
        kind_, _, ident = reference.partition("/")
        if kind_ == "Organization" and is_digits(ident):
            org_ids.append(int(ident))
        elif kind_ == "Practitioner" and is_digits(ident):
            user_ids.append(int(ident))
        else:
            raise InvalidInput(
                "consent.actor_invalid",
                "provision.actor references Organization/<id> or Practitioner/<id>.",
                field=f"provision.actor[{index}]",
            )
    purposes = []
    for index, coding in enumerate(provision.get("purpose") or []):
        # A code means its purpose only in HL7's PurposeOfUse: TREAT in another
        # system (or in none) is not treatment.
        purpose = (
            PURPOSE_BY_CODE.get(coding.get("code", ""))
            if coding.get("system") == PURPOSE_SYSTEM
            else None
        )
        if purpose is None:
            codes = f"{', '.join(PURPOSE_BY_CODE)} ({PURPOSE_SYSTEM})"
            raise InvalidInput(
                "consent.purpose_unknown",
                f"provision.purpose codes are {codes}.",
                field=f"provision.purpose[{index}]",
                params={"codes": codes},
            )
        if purpose in UNDIRECTED_PURPOSES:
            raise InvalidInput(
                "consent.purpose_not_directed",
                "provision.purpose names neither ETREAT nor HSYSADMIN: an emergency overrides "
                "a refusal only through break-the-glass (R4), and the audit of who saw the "
                "record is the citizen's own insight (R5, R9); a directive of either would "
                "change nothing.",
                field=f"provision.purpose[{index}]",
            )
        purposes.append(purpose)
    how_refused = InvalidInput(
        "consent.given_how_required",
        f"Say how the citizen gave it: extension {GIVEN_HOW_EXTENSION} = oral or written.",
        field="extension",
        params={"extension": GIVEN_HOW_EXTENSION},
    )
    how = _extension(body, GIVEN_HOW_EXTENSION, "valueCode", how_refused)
    if how not in ("oral", "written"):
        raise how_refused
    # Read as anything but its one boolean, the directive would reach (or
    # spare) the sub-units of the organisations it names against her word.
    sub_units = _extension(
        body,
        SUB_UNITS_EXTENSION,
        "valueBoolean",
        InvalidInput(
            "consent.sub_units_invalid",
            "Say once whether the directive reaches the sub-units of the organisations it "
            f"names: extension {SUB_UNITS_EXTENSION} = true or false.",
            field="extension",
            params={"extension": SUB_UNITS_EXTENSION},
        ),
    )
    data_start, data_end = _period(provision, "dataPeriod", invalid="consent.data_period_invalid")
    if (data_start or data_end) and kind != "deny":
        # A consent lifts a refusal for its recipients as a whole; lifting it
        # for some dates only is not modelled, so it is refused rather than
        # silently widened.
        raise InvalidInput(
            "consent.data_period_on_permit",
            "provision.dataPeriod is supported on refusals (provision.type deny) only.",
            field="provision.dataPeriod",
        )
    period_start, period_end = _period(provision, "period", invalid="consent.period_invalid")
    if period_end is not None and period_end <= timezone.now():
        # A directive rules from when it is recorded: one whose end has passed
        # would never be in force — what was disclosed before cannot be
        # refused afterwards —, yet the citizen's insight report would show a
        # refusal "in force" over the very accesses it never stopped.
        raise InvalidInput(
            "consent.period_invalid",
            "provision.period has already ended: a directive is in force from the moment "
            "it is recorded, so its end must lie ahead.",
            field="provision.period.end",
        )
    return ParsedConsent(
        citizen_id=citizen_id,
        provision=kind,
        organisation_ids=org_ids,
        user_ids=user_ids,
        purposes=sorted(set(purposes)),
        period_start=period_start,
        period_end=period_end,
        given_how=how,
        include_sub_units=True if sub_units is None else bool(sub_units),
        data_period_start=data_start,
        data_period_end=data_end,
        references=references,
    )
