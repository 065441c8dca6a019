"""A municipality leaves the joint acute function in the administration: the
function stops serving it only once no citizen of it has an open episode, so
no open referral drops off the coordinator's board (R1, R10)."""

from __future__ import annotations

import pytest
from django.test import Client

from acute.models import Outcome
from acute.services import episode_complete
from core.actors import Actor
from core.models import Organisation, Role
from tests import factories

pytestmark = pytest.mark.django_db


def _admin_client() -> Client:
    membership = factories.staff(Role.ADMINISTRATOR, factories.acute_function())
    membership.user.is_staff = True
    membership.user.is_superuser = True
    membership.user.save()
    client = Client()
    assert factories.log_in(client, membership).status_code == 302
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "da"
    return client


def _save_serving(client: Client, acute: Organisation, codes: list[str]):
    serves = Organisation.objects.filter(municipality_code__in=codes)
    return client.post(
        f"/admin/core/organisation/{acute.pk}/change/",
        {
            "kind": acute.kind,
            "name": acute.name,
            "sor_code": acute.sor_code or "",
            "ean": acute.ean or "",
            "phone": acute.phone,
            "is_active": "on",
            "serves": [str(m.pk) for m in serves],
        },
    )


def test_a_municipality_with_open_episodes_stays_served_until_they_are_finished():
    acute = factories.acute_function()
    client = _admin_client()
    person = factories.citizen(municipality_code="159")
    referral = factories.acute_referral(person=person)

    refused = _save_serving(client, acute, ["157", "173", "230"])
    assert refused.status_code == 200  # the form again, with the reason
    assert (
        "Borgere i Gladsaxe Kommune har stadig åbne forløb i akutfunktionen"
        in refused.content.decode()
    )
    assert acute.serves.filter(municipality_code="159").exists()

    episode_complete(
        episode=referral.episode,
        outcome=Outcome.TREATED_AT_HOME,
        actor=Actor.for_membership(factories.staff(Role.COORDINATOR, acute)),
    )
    done = _save_serving(client, acute, ["157", "173", "230"])
    assert done.status_code == 302
    assert not acute.serves.filter(municipality_code="159").exists()


def test_a_municipality_joins_the_catchment_in_the_administration():
    acute = factories.acute_function()
    fureso = factories.municipality("190")
    client = _admin_client()
    joined = _save_serving(client, acute, ["157", "159", "173", "190", "230"])
    assert joined.status_code == 302
    assert acute.serves.filter(pk=fureso.pk).exists()
