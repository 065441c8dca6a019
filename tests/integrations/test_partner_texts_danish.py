"""R11: what a Danish partner's nurse or physician reads in a message from the
platform is Danish — the hand-back to home nursing, the outcome to the
referrer and the GP, the GP's results, 1813's status, the admission hand-off and the request to
confirm a phone order — whatever language the sender uses on her pages. The
codes beside the texts (categories, status codes) stay as they are."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone, translation

from acute import services as acute
from acute.clinical.models import LabResult, MedicationOrder, TestDefinition
from acute.models import Outcome, Visit
from core.actors import Actor
from core.models import Role
from integrations.builders import episode_outcome, order_confirmation_request, outcome_text
from integrations.gp.outbound import VisitResults, home_care_observation
from integrations.helpline_1813.outbound import STEPS, ReferralStep, status_task
from integrations.home_nursing.outbound import handback, handback_text
from integrations.hospital.outbound import AdmissionRequest, admission_handoff
from tests import factories as f

pytestmark = pytest.mark.django_db

# Words of the English texts these messages used to carry.
ENGLISH = re.compile(
    r"\b(Acute|episode|Visit|Referral|Outcome|outcome|Hand-back|Admission|nurse|"
    r"Accepted|Declined|please|confirm|ended|Treated|Handed|Admitted|the)\b"
)


def _texts(resource: Any) -> list[str]:
    """Every text a person reads in a resource: ``text``, ``display``,
    ``contentString`` and narrative ``div`` values, at any depth."""
    found: list[str] = []
    if isinstance(resource, dict):
        for key, value in resource.items():
            if key in ("text", "display", "contentString", "div") and isinstance(value, str):
                found.append(re.sub(r"<[^>]+>", " ", value))
            else:
                found.extend(_texts(value))
    elif isinstance(resource, list):
        for item in resource:
            found.extend(_texts(item))
    return found


def _english(texts: list[str]) -> list[str]:
    return [t for t in texts if ENGLISH.search(t)]


def _completed_visit() -> Visit:
    """A visit ended with a follow-up planned, so the episode stays open and
    each test gives it the outcome it needs."""
    nurse, shift = f.acute_nurse_on_shift()
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    referral = f.acute_referral(by=coordinator)
    visit = acute.visit_assign(
        referral=referral, shift=shift, actor=Actor.for_membership(coordinator)
    )
    for step in (acute.visit_accept, acute.visit_set_off, acute.visit_arrive):
        step(visit=visit, actor=Actor.for_membership(nurse))
    return acute.visit_complete(
        visit=visit,
        outcome=Outcome.TREATED_AT_HOME,
        assessment="Væskebehandlet; drikker nu selv",
        close_episode=False,
        actor=Actor.for_membership(nurse),
    )


@pytest.mark.parametrize("language", ["da", "en"])
def test_r11_the_hand_back_to_home_nursing_is_written_in_danish(language: str) -> None:
    visit = _completed_visit()
    Visit.objects.filter(pk=visit.pk).update(
        completed_at=dt.datetime(2026, 12, 31, 23, 30, tzinfo=dt.UTC)
    )
    episode = visit.episode
    episode.outcome = Outcome.HANDED_BACK
    episode.outcome_note = "Tilses i morgen af egen hjemmesygeplejerske"

    with translation.override(language):  # the nurse's pages may be in English
        text = handback_text(episode)
        message = handback(episode)

    assert text.splitlines() == [
        "Akut forløb afsluttet: Overdraget til hjemmesygeplejen.",
        "Tilses i morgen af egen hjemmesygeplejerske",
        "Besøg 01-01-2027 kl. 00:30: Væskebehandlet; drikker nu selv",
    ]
    [communication] = message.focus
    assert communication["topic"]["text"] == "Tilbagemelding efter akut forløb"
    assert communication["category"][0]["coding"][0]["code"] == "nursing"
    assert _english(_texts(communication)) == []
    # The narrative dates it as the home nurse's clock shows it, with no code.
    div = communication["text"]["div"]
    assert "nursing" not in div and not re.search(r"\d{4}-\d\d-\d\dT|\+00:00", div)
    assert re.search(r"\d\d-\d\d-\d{4} kl\. \d\d:\d\d", div)


@pytest.mark.parametrize("outcome", list(Outcome))
def test_r11_every_outcome_reaches_the_referrer_in_danish(outcome: Outcome) -> None:
    visit = _completed_visit()
    episode = visit.episode
    episode.outcome = outcome

    with translation.override("en"):
        text = outcome_text(episode)
        message = episode_outcome(episode)

    assert text.startswith("Akut forløb afsluttet: ")
    assert outcome.value not in text
    with translation.override("da"):
        assert str(translation.gettext(outcome.label)) in text
    [communication] = message.focus
    assert communication["topic"]["text"] == "Afslutning af akut forløb"
    assert _english(_texts(communication)) == []


def test_r11_an_episode_without_an_outcome_still_ends_in_danish() -> None:
    visit = _completed_visit()
    episode = visit.episode
    episode.outcome = ""
    assert outcome_text(episode) == "Akut forløb afsluttet."


@pytest.mark.parametrize("step", list(STEPS))
def test_r11_every_status_to_1813_is_written_in_danish(step: str) -> None:
    visit = _completed_visit()
    referral = visit.referral
    assert referral is not None
    outcome = Outcome.TREATED_AT_HOME if step == "completed" else ""

    with translation.override("en"):
        task = status_task(ReferralStep(referral=referral, step=step, outcome=outcome))

    texts = _texts(task)
    assert _english(texts) == [], texts
    assert task["focus"]["display"] == f"Henvisning {referral.pk}"
    if outcome:
        [output] = task["output"]
        assert output["type"]["text"] == "Udfald"
        assert output["valueCodeableConcept"]["text"] == "Behandlet i hjemmet"
        # The code stays the machine-readable value.
        assert output["valueCodeableConcept"]["coding"][0]["code"] == "treated_at_home"


def test_r12_the_admission_hand_off_is_titled_in_danish() -> None:
    visit = _completed_visit()

    with translation.override("en"):
        message = admission_handoff(AdmissionRequest(visit=visit, reason=""))

    encounter, summary = message.focus
    assert encounter["reasonCode"][0]["text"] == "Indlæggelse fra akutfunktionen"
    assert summary["topic"]["text"] == "Indlæggelse fra akutfunktionen"


def test_r8_the_request_to_confirm_a_phone_order_is_written_in_danish() -> None:
    visit = _completed_visit()
    order = MedicationOrder(
        pk=7,
        citizen=visit.citizen,
        medicine_atc="C03CA01",
        medicine_name="Furosemid",
        dose=Decimal("20"),
        dose_unit="mg",
        route="iv",
        frequency="én gang",
        duration="én dosis",
        indication="Ødemer",
        ordered_at=timezone.now(),
        ordered_by_name="Læge Hansen",
    )

    with translation.override("en"):
        message = order_confirmation_request(order)

    [request] = message.focus
    assert request["note"][0]["text"] == (
        "Telefonordinationen er læst op og bekræftet. Bekræft den venligst elektronisk."
    )
    assert _english(_texts(request)) == []


def test_results_to_the_gp_name_each_test_in_danish_with_a_decimal_comma() -> None:
    visit = _completed_visit()
    glucose = TestDefinition.objects.get(display="Glucose; capillary blood plasma")
    result = LabResult(
        test=glucose,
        value=Decimal("7.2"),
        unit=glucose.unit,
        status=LabResult.Status.FINAL,
        effective_at=timezone.now(),
    )

    with translation.override("en"):
        message = home_care_observation(
            VisitResults(visit=visit, citizen=visit.citizen, results=[result])
        )

    assert message is not None
    report, observation = message.focus[0], message.supporting[0]
    line = "Glukose; kapillært blod-plasma: 7,2 mmol/L"
    assert line in report["text"]["div"] and line in observation["text"]["div"]
    # The coding keeps the catalogue's display and code.
    assert observation["code"]["coding"][0]["display"] == glucose.display
