"""Forms sent twice — a double click, or back and send again — do their work
once: the coordinator's "Tildel" leaves the nurse with the visit she has (not
cancelled and replaced by a copy, not refused once she is on her way), and the
physician's short referral is one referral."""

from __future__ import annotations

import re

import pytest

from acute.models import Referral, Visit
from core.models import Role
from tests import factories
from tests.acute.test_pages import PHONE_REFERRAL, _login

pytestmark = pytest.mark.django_db


def test_the_same_nurse_assigned_twice_keeps_her_one_visit() -> None:
    person = factories.citizen()
    nurse, shift = factories.acute_nurse_on_shift()
    coordinator = factories.staff(Role.COORDINATOR, factories.acute_function())
    client = _login(coordinator)
    created = client.post("/coordinator/referrals/new/", {**PHONE_REFERRAL, "cpr": person.cpr})
    referral = Referral.objects.get(citizen=person)
    assert created.status_code == 302
    assign = f"/coordinator/referrals/{referral.pk}/assign/"

    assert client.post(assign, {"shift_id": str(shift.pk)}).status_code == 302
    first = Visit.objects.get(referral=referral)
    # A double click: the second send finds her already assigned.
    assert client.post(assign, {"shift_id": str(shift.pk)}).status_code == 302
    assert list(Visit.objects.filter(referral=referral).values_list("pk", "status")) == [
        (first.pk, Visit.Status.ASSIGNED)
    ]
    # She accepts and sets off; the coordinator's form arrives again.
    nurse_client = _login(nurse)
    for step in ("accept", "set_off"):
        stepped = nurse_client.post(f"/nurse/visits/{first.pk}/step/", {"step": step})
        assert stepped.status_code == 302
    again = client.post(assign, {"shift_id": str(shift.pk)})

    assert again.status_code == 302
    assert list(Visit.objects.filter(referral=referral).values_list("pk", "status")) == [
        (first.pk, Visit.Status.EN_ROUTE)
    ]


def test_the_physicians_referral_sent_twice_is_one_referral() -> None:
    """The short form carries the reference it was drawn with: sent twice
    (a double click, a reload), it is one referral; a refused and corrected
    send is still the same one; a new form is a new referral."""

    from tests.acute.test_pages_refusals_danish import SHORT_FORM, _physician

    person = factories.citizen()
    client = _physician()
    page = client.get("/referrals/new/").content.decode()
    form_ref = re.search(r'name="form_ref" value="([0-9a-f]{32})"', page).group(1)
    form = {**SHORT_FORM, "cpr": person.cpr, "form_ref": form_ref}

    refused = client.post("/referrals/new/", {**form, "responsible_physician_phone": ""})
    assert refused.status_code == 400
    assert f'name="form_ref" value="{form_ref}"' in refused.content.decode()
    for _ in range(2):
        assert client.post("/referrals/new/", form).status_code == 302
    assert Referral.objects.filter(citizen=person).count() == 1

    fresh = client.get("/referrals/new/").content.decode()
    assert form_ref not in fresh
    next_ref = re.search(r'name="form_ref" value="([0-9a-f]{32})"', fresh).group(1)
    assert client.post("/referrals/new/", {**form, "form_ref": next_ref}).status_code == 302
    assert Referral.objects.filter(citizen=person).count() == 2


def test_the_coordinators_phone_referral_sent_twice_is_one_referral() -> None:
    """A double click, or back and send again: the second send shows the
    referral the first made. A refused form keeps its reference, so the
    corrected send is still the one referral; a new form is a new one."""
    person = factories.citizen()
    coordinator = factories.staff(Role.COORDINATOR, factories.acute_function())
    client = _login(coordinator)
    page = client.get("/coordinator/referrals/new/").content.decode()
    form_ref = re.search(r'name="form_ref" value="([0-9a-f]{32})"', page).group(1)
    form = {**PHONE_REFERRAL, "cpr": person.cpr, "form_ref": form_ref}

    refused = client.post("/coordinator/referrals/new/", {**form, "reason": ""})
    assert refused.status_code == 400
    assert f'name="form_ref" value="{form_ref}"' in refused.content.decode()
    first = client.post("/coordinator/referrals/new/", form)
    again = client.post("/coordinator/referrals/new/", form, follow=True)
    referral = Referral.objects.get(citizen=person)
    assert first.status_code == 302 and first["Location"].endswith(f"/{referral.pk}/")
    assert again.redirect_chain[0][0] == first["Location"]
    assert "Henvisningen var allerede modtaget" in again.content.decode()

    fresh = client.get("/coordinator/referrals/new/").content.decode()
    next_ref = re.search(r'name="form_ref" value="([0-9a-f]{32})"', fresh).group(1)
    assert next_ref != form_ref
    assert (
        client.post("/coordinator/referrals/new/", {**form, "form_ref": next_ref}).status_code
        == 302
    )
    assert Referral.objects.filter(citizen=person).count() == 2
