"""R8/R9: a §4 dose refused for its witness on the nurse's visit page says so
beside the witness's username in the one dose form she sent — not only at the
top of the page — with the username she typed kept (never the password), the
other dose forms untouched, nothing given, and the refusal in the audit log as
a denied attempt on the citizen's record. Every kind of refused witness: a
wrong password, the nurse herself, a colleague off duty, one without the role
(the coordinator, a physician outside the function, a nurse of another acute
function) and one whose user is switched off."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

import pytest

from acute.clinical import services as clinical_services
from acute.models import NurseShift
from consent.audit.models import AuditEntry
from core.actors import Actor
from core.models import Membership, Organisation, Role, User
from medicine_cabinet.models import Administration
from tests import factories
from tests.acute.test_pages_nurse import _give, _section_four_visit

pytestmark = pytest.mark.django_db


def _second_order(visit, first):
    """Another written order for morphine on the visit: a second dose form."""
    physician = Membership.objects.get(
        user__authorisation_id="XYZ98", role=Role.PHYSICIAN, is_active=True
    )
    return clinical_services.written_order_record(
        actor=Actor.for_membership(physician),
        visit=visit,
        details=clinical_services.OrderDetails(
            medicine_atc=first.medicine_atc,
            medicine_name=first.medicine_name,
            dose="5",
            dose_unit="mg",
            route="subcutaneous",
            frequency="once",
            duration="single dose",
            indication="Uro",
        ),
    )


def _give_form(html: str, order_pk: int) -> str:
    """The dose form of one order on the visit page."""
    start = html.rindex("<form", 0, html.index(f'-give-{order_pk}" data-offline-kind="dose"'))
    return html[start : html.index("</form>", start)]


def _off_duty(nurse: Membership, _witness: Membership) -> tuple[User, str]:
    colleague = factories.staff(Role.ACUTE_NURSE, nurse.organisation)
    return colleague.user, "witness.not_on_duty"


def _herself(nurse: Membership, _witness: Membership) -> tuple[User, str]:
    return nurse.user, "witness.same_person"


def _coordinator(nurse: Membership, _witness: Membership) -> tuple[User, str]:
    return factories.staff(Role.COORDINATOR, nurse.organisation).user, "witness.not_eligible"


def _outside_physician(_nurse: Membership, _witness: Membership) -> tuple[User, str]:
    return factories.staff(Role.PHYSICIAN, factories.gp_practice()).user, "witness.not_eligible"


def _other_function(_nurse: Membership, witness: Membership) -> tuple[User, str]:
    other = Organisation.objects.create(name="Anden akutfunktion", kind=witness.organisation.kind)
    colleague = factories.staff(Role.ACUTE_NURSE, other)
    shift = NurseShift.objects.filter(nurse=witness.user).first()
    assert shift is not None
    NurseShift.objects.create(
        nurse=colleague.user,
        acute_function=other,
        kind=shift.kind,
        starts_at=shift.starts_at,
        ends_at=shift.ends_at,
        base_name="Base",
        base_latitude=55.75,
        base_longitude=12.54,
    )
    return colleague.user, "witness.not_eligible"


def _switched_off(_nurse: Membership, witness: Membership) -> tuple[User, str]:
    witness.user.is_active = False
    witness.user.save(update_fields=["is_active"])
    return witness.user, "witness.invalid_credentials"


def _wrong_password(_nurse: Membership, witness: Membership) -> tuple[User, str]:
    return witness.user, "witness.invalid_credentials"


@pytest.mark.parametrize(
    "refused",
    [
        _wrong_password,
        _herself,
        _off_duty,
        _coordinator,
        _outside_physician,
        _other_function,
        _switched_off,
    ],
)
def test_r8_a_refused_witness_stands_beside_the_witness_field_of_the_form_sent(
    refused: Callable[[Membership, Membership], tuple[User, str]],
):
    nurse, visit, client, witness, morphine, _lot, first = _section_four_visit()
    second = _second_order(visit, first)
    named, code = refused(nurse, witness)
    password = "not-her-password" if refused is _wrong_password else factories.PASSWORD

    page = _give(
        client,
        visit,
        second,
        morphine,
        witness_username=named.username,
        witness_password=password,
    )

    assert page.status_code == 400, page.content.decode()[:2000]
    html = page.content.decode()
    assert f'data-code="{code}"' in html
    sent = _give_form(html, second.pk)
    assert re.search(
        rf'<input id="give-wu-{second.pk}" name="witness_username"[^>]*'
        rf'value="{re.escape(named.username)}"[^>]*aria-invalid="true"'
        r'[^>]*aria-describedby="err-witness"',
        sent,
    ), sent
    beside = re.search(r'<p class="field-error" id="err-witness">([^<]+)</p>', sent)
    assert beside, sent
    # The sentence at the top of the page, now where she typed the witness.
    assert beside.group(1) in html.replace(beside.group(0), "")
    assert password not in html
    other = _give_form(html, first.pk)
    assert "field-error" not in other and "aria-invalid" not in other
    assert named.username not in other
    assert not Administration.objects.exists()
    assert AuditEntry.objects.filter(
        citizen_id=visit.citizen_id,
        resource_type="MedicationAdministration",
        outcome="denied",
        reason_code=code,
    ).exists()


def test_r8_a_dose_without_a_witness_is_told_beside_the_witness_field():
    _nurse, visit, client, _witness, morphine, _lot, order = _section_four_visit()
    page = _give(client, visit, order, morphine)
    assert page.status_code == 400
    sent = _give_form(page.content.decode(), order.pk)
    assert re.search(r'<p class="field-error" id="err-witness">[^<]+</p>', sent), sent
    assert not Administration.objects.exists()


def test_a_witness_accepted_after_a_refusal_gives_the_dose():
    """The refusal changed nothing: the same form, with the right colleague, gives it."""
    nurse, visit, client, witness, morphine, lot, order = _section_four_visit()
    refused = _give(
        client,
        visit,
        order,
        morphine,
        witness_username=nurse.user.username,
        witness_password=factories.PASSWORD,
    )
    assert refused.status_code == 400
    given = _give(
        client,
        visit,
        order,
        morphine,
        witness_username=witness.user.username,
        witness_password=factories.PASSWORD,
    )
    assert given.status_code == 302
    administration = Administration.objects.get(order=order)
    assert administration.witness_id == witness.user.pk
    assert administration.lot_id == lot.pk
    assert administration.administered_at > administration.order.ordered_at - dt.timedelta(
        minutes=5
    )
