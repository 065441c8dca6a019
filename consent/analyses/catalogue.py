"""The named analyses an analyst may run (R6), each a table of citizens by
municipality: what it takes as parameters, how it counts — exactly, never
released as such — its title and columns, and how much one citizen can change
it (the sensitivity the noise is scaled to)."""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Value
from django.db.models.functions import Replace
from django.utils.functional import Promise
from django.utils.translation import gettext, gettext_lazy, ngettext

from consent.analyses.refusals import excluded_ids, record_for_analysis
from consent.classifications import ICD10, SKS, SKS_DIAGNOSES
from consent.fhir import MUNICIPAL_SERVICES
from consent.models import CareRelationship, DataCategory
from core.actors import Actor
from core.errors import InvalidInput
from core.models import Citizen, Organisation
from core.validation import is_digits, text_trimmed


def _municipalities() -> list[Organisation]:
    return list(
        Organisation.objects.filter(
            kind=Organisation.Kind.MUNICIPALITY, participates=True
        ).order_by("municipality_code")
    )


@dataclass(frozen=True)
class Counts:
    """An exact table of citizens. Never released: only its noisy copy is."""

    rows: list[str]
    counts: list[list[int]]


@dataclass(frozen=True)
class Analysis:
    name: str
    description: Promise  # for the API: names its parameters
    heading: Promise  # for the page, whose fields name the parameters
    # The most one citizen (with or without all their data) changes the table,
    # summed over its cells: what the noise is scaled to.
    sensitivity: int
    parameters: Callable[[Mapping[str, str]], dict[str, Any]]
    # Counted for the analyst who asks: the refusals covering her leave citizens out (R4).
    count: Callable[[dict[str, Any], Actor], Counts]
    title: Callable[[dict[str, Any]], str]
    columns: Callable[[dict[str, Any]], list[str]]
    row_header: str
    row_header_label: Promise
    # The parameters it takes, each once: any other is refused, never ignored
    # (a misspelt ``dyas=7`` would spend the budget on the default's answer).
    takes: tuple[str, ...] = ()


# An ICD-10 code or the start of one, outside chapter F: a letter, up to two
# digits, and after both digits a dot with up to two more (E, E1, E11, E11.9).
ICD10_PREFIX = re.compile(r"^[A-EG-Z]([0-9]([0-9](\.[0-9]{0,2})?)?)?$")

SERVICE_LABELS: dict[str, Promise] = {
    "home-help": gettext_lazy("home help"),
    "personal-care": gettext_lazy("personal care"),
    "home-nursing": gettext_lazy("home nursing"),
}


def _diagnosis_and_service_parameters(raw: Mapping[str, str]) -> dict[str, Any]:
    diagnosis = raw.get("diagnosis", "").strip().upper()
    if not ICD10_PREFIX.match(diagnosis):
        raise InvalidInput(
            "analysis.diagnosis_invalid",
            gettext("The diagnosis is an ICD-10 code or prefix outside chapter F, e.g. E11."),
            field="diagnosis",
        )
    # "E11." asks what "E11" asks: one question, one answer (decision 0005).
    diagnosis = diagnosis.removesuffix(".")
    service = raw.get("service", "").strip().lower()
    if service not in MUNICIPAL_SERVICES:
        raise InvalidInput(
            "analysis.service_invalid",
            gettext("The service is one of %(services)s.")
            % {"services": ", ".join(MUNICIPAL_SERVICES)},
            field="service",
        )
    return {"diagnosis": diagnosis, "service": service}


def icd10_prefix_q(prefix: str) -> Q:
    """Somatic diagnoses whose ICD-10 code starts with ``prefix``, on a record
    annotated with ``bare_code`` (the code without dots). A code means
    something only in its system: an ICD-10 code (E11.9, or E119) as it is,
    an SKS diagnosis — ICD-10 with a leading D (DE119) — as the ICD-10 code it
    carries, also when sent under an ICD-10 system or SKS-D without its D; an
    ICPC-2 code is not ICD-10 (its T90 is diabetes, ICD-10's T90 an injury)
    and is never counted as one."""
    bare = prefix.replace(".", "")
    sks_form = Q(code__regex=r"^D[A-Z]")
    as_icd10 = (sks_form & Q(bare_code__startswith="D" + bare)) | (
        ~sks_form & Q(bare_code__startswith=bare)
    )
    icd10 = (ICD10.system_q() | Q(code_system__in=SKS_DIAGNOSES.systems)) & as_icd10
    # Under the SKS root (and its sub-systems) only the D register holds diagnoses.
    sks = SKS.system_q() & Q(bare_code__startswith="D" + bare)
    return icd10 | sks


def _diagnosis_and_service_counts(parameters: dict[str, Any], actor: Actor) -> Counts:
    """Citizens with an ICD-10 diagnosis (prefix) per municipality, who do and
    do not receive a municipal service. A citizen is in one municipality and one
    column: sensitivity 1."""
    record = record_for_analysis(actor)
    with_diagnosis = (
        record.filter(category=DataCategory.SOMATIC_DIAGNOSIS)
        .annotate(bare_code=Replace("code", Value("."), Value("")))
        .filter(icd10_prefix_q(parameters["diagnosis"]))
    )
    receives = record.filter(
        citizen=OuterRef("pk"), category=DataCategory.MUNICIPAL_HELP, code=parameters["service"]
    )
    # Counted in the database: one row per (municipality, receives or not).
    grouped = (
        Citizen.objects.filter(pk__in=with_diagnosis.values("citizen_id"))
        .annotate(receives=Exists(receives))
        .values("municipality_id", "receives")
        .annotate(n=Count("pk"))
        .order_by()
    )
    counts_by: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for row in grouped:
        counts_by[row["municipality_id"]][0 if row["receives"] else 1] = row["n"]
    municipalities = _municipalities()
    return Counts(
        rows=[m.name for m in municipalities], counts=[counts_by[m.pk] for m in municipalities]
    )


# The days before and after an acute episode that contacts-around-acute-episode
# looks at: the API's description states them, read from here.
CONTACT_DAYS_LEAST = 1
CONTACT_DAYS_MOST = 365
CONTACT_DAYS_DEFAULT = 30


def _contacts_parameters(raw: Mapping[str, str]) -> dict[str, Any]:
    # Typed on the page, trimmed as every typed number is (the keyboard adds
    # a space); on /api/ the body gate took only text JSON writes for it.
    text = text_trimmed(raw.get("days", str(CONTACT_DAYS_DEFAULT)))
    if not is_digits(text):
        raise InvalidInput(
            "analysis.param_invalid",
            gettext("The number of days is a whole number."),
            field="days",
        )
    days = int(text)
    if not CONTACT_DAYS_LEAST <= days <= CONTACT_DAYS_MOST:
        raise InvalidInput(
            "analysis.days_invalid", gettext("The number of days is 1 to 365."), field="days"
        )
    return {"days": days}


def _contacts_counts(parameters: dict[str, Any], actor: Actor) -> Counts:
    """Citizens with hospital contacts in the ``days`` before and after the start
    of an acute episode (a referral or visit of the acute function), per
    municipality. A citizen is in one municipality, once in each column at
    most: sensitivity 2. Counted in the database, one row per municipality
    and column: neither the episodes nor the contacts are read into memory."""
    window = dt.timedelta(days=parameters["days"])
    episodes = CareRelationship.objects.filter(
        organisation__kind=Organisation.Kind.ACUTE_FUNCTION,
        basis__in=[CareRelationship.Basis.REFERRAL, CareRelationship.Basis.VISIT],
    ).exclude(citizen_id__in=excluded_ids(actor))
    contacts = record_for_analysis(actor).filter(
        category=DataCategory.HOSPITAL_CONTACT,
        citizen_id=OuterRef("citizen_id"),
        effective_at__isnull=False,
    )
    started = OuterRef("started_at")
    before = contacts.filter(effective_at__gte=started - window, effective_at__lt=started)
    after = contacts.filter(effective_at__gte=started, effective_at__lt=started + window)

    def citizens_by_municipality(around: QuerySet[CareRelationship]) -> dict[int, int]:
        grouped = (
            around.values("citizen__municipality_id")
            .annotate(n=Count("citizen_id", distinct=True))
            .order_by()
            .values_list("citizen__municipality_id", "n")
        )
        return dict(grouped)

    counted_before = citizens_by_municipality(episodes.filter(Exists(before)))
    counted_after = citizens_by_municipality(episodes.filter(Exists(after)))
    municipalities = _municipalities()
    return Counts(
        rows=[m.name for m in municipalities],
        counts=[[counted_before.get(m.pk, 0), counted_after.get(m.pk, 0)] for m in municipalities],
    )


def _service(parameters: dict[str, Any]) -> str:
    return str(SERVICE_LABELS[parameters["service"]])


ANALYSES: dict[str, Analysis] = {
    a.name: a
    for a in (
        Analysis(
            name="diagnosis-and-service",
            description=gettext_lazy(
                "Citizens with a diagnosis per municipality who do / do not receive a "
                "municipal service (parameters: diagnosis, service)"
            ),
            heading=gettext_lazy(
                "Citizens with a diagnosis who do or do not receive a municipal service, "
                "per municipality"
            ),
            sensitivity=1,
            parameters=_diagnosis_and_service_parameters,
            count=_diagnosis_and_service_counts,
            title=lambda p: (
                gettext("Citizens with diagnosis %(diagnosis)s* by municipality and %(service)s")
                % {"diagnosis": p["diagnosis"], "service": _service(p)}
            ),
            columns=lambda p: [
                gettext("receives %(service)s") % {"service": _service(p)},
                gettext("does not receive %(service)s") % {"service": _service(p)},
            ],
            row_header="municipality",
            row_header_label=gettext_lazy("Municipality"),
            takes=("diagnosis", "service"),
        ),
        Analysis(
            name="contacts-around-acute-episode",
            description=gettext_lazy(
                "Citizens with hospital contacts before / after an acute episode per "
                "municipality (parameter: days, default 30)"
            ),
            heading=gettext_lazy(
                "Citizens with hospital contacts before and after an acute episode, "
                "per municipality"
            ),
            sensitivity=2,
            parameters=_contacts_parameters,
            count=_contacts_counts,
            title=lambda p: (
                ngettext(
                    "Citizens with hospital contacts %(days)s day before/after an acute episode",
                    "Citizens with hospital contacts %(days)s days before/after an acute episode",
                    p["days"],
                )
                % {"days": p["days"]}
            ),
            columns=lambda p: [
                ngettext(
                    "contact in %(days)s day before", "contact in %(days)s days before", p["days"]
                )
                % {"days": p["days"]},
                ngettext(
                    "contact in %(days)s day after", "contact in %(days)s days after", p["days"]
                )
                % {"days": p["days"]},
            ],
            row_header="municipality",
            row_header_label=gettext_lazy("Municipality"),
            takes=("days",),
        ),
    )
}
