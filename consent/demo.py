"""Demo data for the shared record: diagnoses, nursing problems, municipal help,
care plans and hospital contacts for the first demo citizens of each
municipality, a recorded visit for ``nurse1`` and one refusal. Loaded as the
partner systems would load it (background work, audited). Idempotent."""

from __future__ import annotations

from collections.abc import Callable

from consent.audit.services import Purpose
from consent.models import CareRelationship, ConsentDirective, RecordResource
from consent.services import care_relationship_open, record_transaction
from core.actors import Actor
from core.demo import MUNICIPALITIES
from core.models import Citizen, Organisation, User

CAT = "urn:tvaerakut:data-category"
# ICD-10 codes with the Danish names a hospital's system sends beside them.
DIAGNOSES = [
    ("I50.9", "Hjertesvigt, uspecificeret"),
    ("J44.1", "KOL med akut forværring"),
    ("E11.9", "Type 2-diabetes uden komplikationer"),
    ("N39.0", "Urinvejsinfektion"),
    ("I48.9", "Atrieflimren og -flagren, uspecificeret"),
    ("M81.9", "Knogleskørhed, uspecificeret"),
]
PROBLEMS = ["Risiko for tryksår", "Nedsat ernæringstilstand", "Faldrisiko", "Inkontinens"]
SERVICES = ["home-nursing", "personal-care", "home-help"]


def _bundle(person: Citizen, i: int, home: Organisation, department: Organisation) -> dict:
    pid = person.pk

    def entry(resource: dict) -> dict:
        return {
            "resource": resource,
            "request": {"method": "POST", "url": resource["resourceType"]},
        }

    return {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            entry(
                {
                    "resourceType": "Condition",
                    "meta": {"tag": [{"system": CAT, "code": "somatic-diagnosis"}]},
                    "code": {
                        "coding": [
                            {
                                "system": "http://hl7.org/fhir/sid/icd-10",
                                "code": DIAGNOSES[i % 6][0],
                                "display": DIAGNOSES[i % 6][1],
                            }
                        ]
                    },
                    "subject": {"reference": f"Patient/{pid}"},
                    "recordedDate": f"2025-{1 + i % 12:02d}-15",
                }
            ),
            entry(
                {
                    "resourceType": "Condition",
                    "meta": {"tag": [{"system": CAT, "code": "nursing-problem"}]},
                    "code": {"text": PROBLEMS[i % 4]},
                    "subject": {"reference": f"Patient/{pid}"},
                    "recordedDate": "2026-09-01",
                }
            ),
            entry(
                {
                    "resourceType": "EpisodeOfCare",
                    "meta": {"tag": [{"system": CAT, "code": "municipal-help"}]},
                    "status": "active",
                    "type": [
                        {
                            "coding": [
                                {
                                    "system": "urn:tvaerakut:municipal-service",
                                    "code": SERVICES[i % 3],
                                }
                            ]
                        }
                    ],
                    "patient": {"reference": f"Patient/{pid}"},
                    "managingOrganization": {"reference": f"Organization/{home.pk}"},
                    "period": {"start": "2026-01-01"},
                }
            ),
            entry(
                {
                    "resourceType": "CarePlan",
                    "meta": {"tag": [{"system": CAT, "code": "care-plan"}]},
                    "status": "active",
                    "intent": "plan",
                    "title": "Plan for pleje og behandling",
                    "subject": {"reference": f"Patient/{pid}"},
                    "period": {"start": "2026-06-01"},
                }
            ),
            entry(
                {
                    "resourceType": "Encounter",
                    "meta": {"tag": [{"system": CAT, "code": "hospital-contact"}]},
                    "status": "finished",
                    "class": {
                        "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                        "code": "AMB",
                    },
                    "subject": {"reference": f"Patient/{pid}"},
                    "serviceProvider": {"reference": f"Organization/{department.pk}"},
                    "period": {"start": "2026-10-02", "end": "2026-10-02"},
                }
            ),
        ],
    }


def load(say: Callable[[str], None], orgs: dict[str, Organisation]) -> None:
    department = orgs["dept-3"]
    loaded = 0
    for code, _name, _sor in MUNICIPALITIES:
        home = orgs[f"home-{code}"]
        people = Citizen.objects.filter(municipality=orgs[f"muni-{code}"]).order_by("pk")[:5]
        for i, person in enumerate(people):
            if RecordResource.objects.filter(citizen=person).exists():
                continue
            actor = Actor.system("consent.demo", partner=home)
            record_transaction(
                actor=actor, bundle=_bundle(person, i, home, department), purpose=Purpose.OPERATIONS
            )
            loaded += 1
    first = Citizen.objects.filter(municipality=orgs["muni-157"]).order_by("pk").first()
    nurse = User.objects.filter(username="nurse1").first()
    if first is not None and nurse is not None:
        care_relationship_open(
            citizen=first,
            organisation=orgs["acute"],
            user=nurse,
            basis=CareRelationship.Basis.RECORDED,
            source_type="consent.demo",
            source_id="nurse1",
        )
    refuser = Citizen.objects.filter(municipality=orgs["muni-159"]).order_by("pk").first()
    recorder = User.objects.filter(username="admin").first()
    if refuser is not None and recorder is not None and not refuser.consents.exists():
        directive = ConsentDirective.objects.create(
            citizen=refuser,
            provision=ConsentDirective.Provision.DENY,
            given_how=ConsentDirective.GivenHow.WRITTEN,
            recorded_by=recorder,
            recorded_by_organisation=orgs["acute"],
            note="Demo: refuses disclosure to the hospital and its departments.",
        )
        directive.recipient_organisations.set([orgs["hospital"]])
    say(f"consent: shared record loaded for {loaded} citizens; nurse1 has a recorded relationship")
