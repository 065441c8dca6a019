"""Results to the GP practice that asked for the visit, as MedCom's
HomeCareObservation: a ``HomeCareReport`` DiagnosticReport with the
NPU-coded Observations as results, the producer (``KAF``, kommunal
akutfunktion) and the nurse as performers, a narrative; the requesting
practice with its provider number and the requesting physician's initials as
receiver. (The outcome of the episode and requests to confirm a phone order
are built as for every partner: :mod:`integrations.builders`.)"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.utils import formats, timezone
from django.utils.translation import gettext

from acute.clinical.models import NPU_SYSTEM
from core.times import fhir_instant
from integrations.adapters import Outgoing
from integrations.medcom.envelope import ACTIVITY_SYSTEM, narrative, profile_url
from integrations.medcom.outbound import SENDER_REFERENCE, SENT_AS_MEDCOM, MedComShape, Party
from integrations.messages import in_partner_language, patient_ref
from integrations.resources import UCUM

if TYPE_CHECKING:
    from acute.clinical.models import LabResult
    from acute.models import Visit
    from core.models import Citizen, User

MEDCOM_TERMINOLOGY = "http://medcomfhir.dk/ig/terminology/CodeSystem/"
HOME_CARE_OBSERVATION_EVENT = SENT_AS_MEDCOM["homecareobservation"]
HOME_CARE_OBSERVATION_DEFINITION = (
    "http://medcomfhir.dk/ig/messagedefinitions/MessageDefinition/"
    "MedComHomeCareObservationMessageDefinition|1.0"
)
REPORT_CODE_SYSTEM = f"{MEDCOM_TERMINOLOGY}MedComDiagnosticReportCodes"
PRODUCER_SYSTEM = f"{MEDCOM_TERMINOLOGY}MedComProducentID"
# MedCom fixes a home care observation's interpretation: not interpreted.
INTERPRETATION_SYSTEM = f"{MEDCOM_TERMINOLOGY}medcom-core-interpretation-codes"
# MedCom's practitioner roles, as its HomeCareObservation examples code the
# acute nurse who measured: a GP system reads the code, not our own.
ROLE_SYSTEM = f"{MEDCOM_TERMINOLOGY}medcom-core-PractitionerRolesSKSadministrativ"
NURSE_ROLE = {"system": ROLE_SYSTEM, "code": "sygeplejerske", "display": "Sygeplejerske"}
DATA_ABSENT_REASON = "http://hl7.org/fhir/StructureDefinition/data-absent-reason"


# An Observation keeps its id in every message that carries it, so a later
# message can say which earlier one it modifies or retracts.
OBSERVATION_NAMESPACE = uuid.UUID("5b0f7e1c-3d1a-4f43-9a55-6c1e0d2b7a10")


@dataclass(frozen=True)
class Amends:
    """The earlier HomeCareObservation a message modifies or retracts."""

    activity: str  # "modified-message" or "retract-message"
    header_id: str
    occurred: str


@dataclass(frozen=True)
class VisitResults:
    """Results recorded on a visit the citizen's GP asked for; ``amends``:
    the earlier message these correct or withdraw (results entered in error
    carry that status, replacements the right value)."""

    visit: Visit
    citizen: Citizen
    results: Sequence[LabResult]
    amends: Amends | None = None


def observation_id(result: LabResult) -> str:
    return str(uuid.uuid5(OBSERVATION_NAMESPACE, f"LabResult/{result.pk}"))


def initials(name: str) -> str:
    """``Anne Bech Jensen`` → ``ABJ``."""
    return "".join(part[0] for part in name.split() if part[:1].isalpha()).upper()


def result_line(result: LabResult) -> str:
    """A result as the GP reads it: the test's Danish name (the coding keeps
    the catalogue's display), the value with a decimal comma, the unit."""
    with in_partner_language():
        name = gettext(result.test.display)
        value = formats.number_format(result.value.normalize(), use_l10n=True)
    return f"{name}: {value} {result.test.unit_display or result.unit}"


def amendment_note(result: LabResult) -> str:
    """What the GP reads beside a result that is withdrawn or replaces one."""
    with in_partner_language():
        if result.status == "entered-in-error":
            return " — " + gettext("Entered in error: %(reason)s") % {
                "reason": result.withdrawn_reason
            }
        if result.replaces_id is not None:
            return " — " + gettext("Corrected value")
    return ""


def earlier_provenance(amends: Amends) -> dict[str, Any]:
    """The earlier message's Provenance, as a reply repeats the thread's."""
    return {
        "resourceType": "Provenance",
        "id": str(uuid.uuid4()),
        "target": [{"reference": f"MessageHeader/{amends.header_id}"}],
        "occurredDateTime": amends.occurred,
        "recorded": amends.occurred,
        "activity": {"coding": [{"system": ACTIVITY_SYSTEM, "code": "new-message"}]},
        "agent": [{"who": {"reference": SENDER_REFERENCE}}],
        "text": narrative(f"new-message {amends.occurred}", f"MessageHeader/{amends.header_id}"),
    }


def npu_coded(result: LabResult) -> bool:
    """A result a GP system files by its code: MedCom's HomeCareObservation
    carries NPU-coded Observations; a test the catalogue codes otherwise (a
    local code, a vital sign without an NPU code) is not one."""
    return result.test.system == NPU_SYSTEM


def uncoded_conclusion(results: Sequence[LabResult]) -> str:
    """The results without an NPU code, told to the GP in the report's
    conclusion (*klinisk kommentar*) with the reason they are not
    Observations: the value reaches the GP, never under a code it cannot read."""
    if not results:
        return ""
    with in_partner_language():
        return gettext("Without an NPU code, so not sent as measurements: %(results)s") % {
            "results": "; ".join(result_line(r) + amendment_note(r) for r in results)
        }


def observation(result: LabResult, citizen: Citizen) -> dict[str, Any]:
    """One lab result as a MedComHomeCareObservation: NPU code, UCUM unit."""
    test = result.test
    value = f"{result.value.normalize():f}"
    return {
        "resourceType": "Observation",
        "id": observation_id(result),
        "meta": {"profile": [profile_url("medcom-homecare-observation")]},
        "text": narrative(f"{result_line(result)} ({test.code}){amendment_note(result)}"),
        "status": result.status,
        "code": {"coding": [{"system": test.system, "code": test.code, "display": test.display}]},
        "subject": patient_ref(citizen),
        "effectiveDateTime": fhir_instant(result.effective_at, timespec="seconds"),
        "valueQuantity": {
            "value": float(value),
            "unit": test.unit_display or result.unit,
            "system": UCUM,
            "code": result.unit,
        },
        "interpretation": [{"coding": [{"system": INTERPRETATION_SYSTEM, "code": "NI"}]}],
    }


def performer(nurse: User) -> list[dict[str, Any]]:
    """The nurse who measured, as a PractitionerRole with a named Practitioner
    (her phone, else the acute function's is added by the envelope)."""
    name = nurse.get_full_name() or nurse.username
    human_name: dict[str, Any] = {"use": "official", "text": name}
    if nurse.last_name:
        human_name["family"] = nurse.last_name
    if nurse.first_name:
        human_name["given"] = nurse.first_name.split()
    practitioner: dict[str, Any] = {
        "resourceType": "Practitioner",
        "id": str(uuid.uuid4()),
        "name": [human_name],
        "text": narrative(name),
    }
    if nurse.phone:
        practitioner["telecom"] = [{"system": "phone", "value": nurse.phone, "use": "work"}]
    role = {
        "resourceType": "PractitionerRole",
        "id": str(uuid.uuid4()),
        "practitioner": {"reference": f"urn:uuid:{practitioner['id']}"},
        "code": [{"coding": [NURSE_ROLE]}],
        "text": narrative(name, "Sygeplejerske"),
    }
    return [role, practitioner]


def requester_contact(visit: Visit) -> dict[str, Any]:
    """The requesting physician's initials, or MedCom's 'not known'."""
    referral = visit.referral
    found = initials(referral.referrer_name) if referral is not None else ""
    if found:
        return {"name": {"given": [found]}}
    return {"extension": [{"url": DATA_ABSENT_REASON, "valueCode": "unknown"}]}


def home_care_observation(recorded: VisitResults) -> Outgoing | None:
    """The results as a HomeCareReport: the NPU-coded ones as Observations,
    any other in the conclusion with why; nothing when there are none."""
    if not recorded.results:
        return None
    coded = [r for r in recorded.results if npu_coded(r)]
    uncoded = [r for r in recorded.results if not npu_coded(r)]
    observations = [observation(r, recorded.citizen) for r in coded]
    conclusion = uncoded_conclusion(uncoded)
    nurse = performer(recorded.visit.nurse)
    report: dict[str, Any] = {
        "resourceType": "DiagnosticReport",
        "id": str(uuid.uuid4()),
        "meta": {"profile": [profile_url("medcom-homecareobservation-diagnosticreport")]},
        "status": "final",
        "code": {
            "coding": [
                {
                    "system": REPORT_CODE_SYSTEM,
                    "code": "HomeCareReport",
                    "display": "HomeCareDiagnosticReport",
                }
            ]
        },
        "subject": patient_ref(recorded.citizen),
        "issued": fhir_instant(timezone.now(), timespec="seconds"),
        "performer": [
            {"reference": SENDER_REFERENCE},
            {"reference": f"urn:uuid:{nurse[0]['id']}"},
        ],
        "text": narrative(
            "Målinger fra kommunal akutfunktion",
            *(result_line(r) for r in coded),
            *([conclusion] if conclusion else []),
        ),
    }
    if observations:
        report["result"] = [{"reference": f"urn:uuid:{o['id']}"} for o in observations]
    if conclusion:
        report["conclusion"] = conclusion
    amends = recorded.amends
    history = [earlier_provenance(amends)] if amends is not None else []
    return Outgoing(
        citizen=recorded.citizen,
        focus=[report],
        supporting=[*observations, *nurse, *history],
        source_type="acute.visit",
        source_id=str(recorded.visit.pk),
        medcom=MedComShape(
            event=HOME_CARE_OBSERVATION_EVENT,
            definition=HOME_CARE_OBSERVATION_DEFINITION,
            activity=amends.activity if amends is not None else "new-message",
            provenance_entities=(
                [{"role": "revision", "what": {"reference": f"MessageHeader/{amends.header_id}"}}]
                if amends is not None
                else []
            ),
            sender=Party(
                profile="medcom-producer-organization",
                identifiers=[{"system": PRODUCER_SYSTEM, "value": "KAF"}],
            ),
            receiver=Party(
                profile="medcom-requesterorganization", contact=requester_contact(recorded.visit)
            ),
        ),
    )
