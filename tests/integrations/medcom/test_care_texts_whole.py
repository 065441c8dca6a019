"""A partner's CareCommunication keeps what the partner wrote whole: MedCom
sets no length on the topic (Communication.topic.text), the author's name
and title, or the author's contact, so the platform keeps each as given and
never cuts one (a cut topic or name would be shown as if the partner had
written it so). Category and activity are MedCom codes, refused when
unknown (test_care_communication_codes)."""

from __future__ import annotations

from typing import Any

import pytest

from integrations.models import CareMessage, CareThread
from tests import factories as f
from tests.integrations.medcom.peers import ack_parts, example, post_signed

pytestmark = pytest.mark.django_db

FIRST = "add5e7e2-0c0f-4a4a-bfff-f6f984fa7e3c"  # MedCom's example: a new message

TOPIC = "Forespørgsel om seneste blodprøvesvar og videre plan efter udskrivelsen " * 5
FAMILY = "Burns-" + "Rasmussen-Kristiansen-" * 10 + "Holm"
EMAIL = "michael.burns." + "afdeling-for-akut-medicin." * 5 + "@herlevhospital.example"


def _of(message: dict[str, Any], kind: str) -> dict[str, Any]:
    return next(e["resource"] for e in message["entry"] if e["resource"]["resourceType"] == kind)


def test_a_long_topic_author_and_contact_are_kept_whole(hospital, citizen):
    f.acute_referral(person=citizen)
    message = example("carecommunication", FIRST)
    communication = _of(message, "Communication")
    communication["topic"]["text"] = TOPIC
    _of(message, "Practitioner")["name"][0]["family"] = FAMILY
    for extension in communication["payload"][0]["extension"]:
        if extension["url"].endswith("contact-extension"):
            extension["valueContactPoint"] = {"system": "email", "value": EMAIL}
    assert len(TOPIC) > 200 and len(f"Michael {FAMILY}, Sygeplejerske") > 200
    assert len(f"email:{EMAIL}") > 100

    status, body = post_signed(hospital, message)

    assert (status, ack_parts(body)[0]) == (200, "ok")
    assert CareThread.objects.get().topic == TOPIC
    segment = CareMessage.objects.get()
    assert segment.author == f"Michael {FAMILY}, Sygeplejerske"
    assert segment.author_contact == f"email:{EMAIL}"
