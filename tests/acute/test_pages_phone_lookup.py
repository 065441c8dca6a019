"""The coordinator's phone referral: the CPR number looked up as it is typed
(by POST, never in a URL), name and address to confirm, an unknown citizen
registered from the same form, and a refusal that keeps everything typed."""

from __future__ import annotations

import pytest
from django.test import Client

from acute.models import Referral
from consent.audit.models import AuditEntry
from consent.services import consent_create
from core.actors import Actor
from core.models import Citizen, Role
from tests import factories
from tests.acute.test_pages import PHONE_REFERRAL
from tests.consent import bodies

pytestmark = pytest.mark.django_db

LOOKUP = "/coordinator/referrals/new/citizen/"
NEW = "/coordinator/referrals/new/"
REGISTRATION = {
    "register": "on",  # the hidden field the offer to register carries
    "given_name": "Ole Bent",
    "family_name": "Fiktivsen",
    "address_line": "Søborg Hovedgade 2",
    "postal_code": "2860",
    "city": "Søborg",
    "municipality": "159",
    "latitude": "55,7380",
    "longitude": "12.4890",
    "citizen_phone": "+4520202020",
}


def _coordinator() -> Client:
    client = Client()
    coordinator = factories.staff(Role.COORDINATOR, factories.acute_function())
    assert factories.log_in(client, coordinator).status_code == 302
    return client


def test_a_registered_citizen_is_shown_by_name_and_address_and_the_look_up_is_audited():
    person = factories.citizen()
    client = _coordinator()
    typed = str(person.cpr)[:6] + "-" + str(person.cpr)[6:]
    response = client.post(LOOKUP, {"cpr": typed})
    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-lookup="found"' in html
    assert "Inge Testesen" in html and "Gentoftegade 1, 2820 Gentofte" in html
    entry = AuditEntry.objects.get(action="search", citizen_id=person.pk)
    assert entry.outcome == "permitted" and entry.reason_code == "referral_intake"
    assert entry.resource_type == "Patient"
    assert person.cpr not in str(entry.detail)


def test_nothing_is_looked_up_before_ten_digits_and_never_by_get():
    client = _coordinator()
    response = client.post(LOOKUP, {"cpr": "02034"})
    assert response.status_code == 200
    assert "data-lookup" not in response.content.decode()
    assert not AuditEntry.objects.filter(action="search").exists()
    assert client.get(LOOKUP).status_code == 405


def test_the_look_up_button_works_without_script_and_saves_nothing():
    person = factories.citizen()
    client = _coordinator()
    response = client.post(NEW, {**PHONE_REFERRAL, "cpr": person.cpr, "action": "lookup"})
    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-lookup="found"' in html and "Inge Testesen" in html
    assert 'value="Dehydrering"' in html and f'value="{person.cpr}"' in html
    assert not Referral.objects.exists()


def test_an_unknown_cpr_offers_registration_and_is_audited_as_denied_without_a_citizen():
    client = _coordinator()
    cpr = factories.cpr_number()
    html = client.post(LOOKUP, {"cpr": cpr}).content.decode()
    assert 'data-lookup="unknown"' in html
    assert 'name="given_name"' in html and 'name="register" value="on"' in html
    entry = AuditEntry.objects.get(action="search")
    assert entry.outcome == "denied" and entry.reason_code == "unknown_citizen"
    assert entry.citizen_id is None


def test_a_citizen_who_refused_the_acute_function_is_not_shown_and_the_refusal_is_audited():
    """R4: a whole refusal hides name and address; the referral can still be taken."""
    person = factories.citizen()
    function = factories.acute_function()
    nurse = factories.staff(Role.ACUTE_NURSE, function)
    factories.open_visit(nurse, person)
    consent_create(
        actor=Actor.for_membership(nurse),
        data=bodies.refusal(person.pk, organisations=[function.pk]),
        purpose="treatment",
    )
    client = _coordinator()
    html = client.post(LOOKUP, {"cpr": person.cpr}).content.decode()
    assert 'data-lookup="hidden"' in html
    assert "Testesen" not in html and "Gentoftegade" not in html
    entry = AuditEntry.objects.get(action="search", citizen_id=person.pk)
    assert entry.outcome == "denied" and entry.reason_code == "refused"


@pytest.mark.parametrize(
    "role", [Role.ACUTE_NURSE, Role.PHYSICIAN, Role.MEDICINE_OFFICER, Role.AUDITOR, Role.ANALYST]
)
def test_only_the_coordinator_looks_up_a_cpr_number(role: str):
    person = factories.citizen()
    client = Client()
    member = factories.staff(role, factories.acute_function())
    assert factories.log_in(client, member).status_code == 302
    response = client.post(LOOKUP, {"cpr": person.cpr})
    assert response.status_code == 403
    assert "Testesen" not in response.content.decode()
    # Refused, and the attempt is on the log of the citizen the number names (R9).
    searches = AuditEntry.objects.filter(action="search", citizen_id=person.pk)
    assert [(e.outcome, e.reason_code) for e in searches] == [("denied", "role_not_permitted")]


def test_an_unknown_citizen_is_registered_and_referred_from_the_same_form_without_retyping():
    client = _coordinator()
    cpr = factories.cpr_number(female=False)
    # Saved before registering: the form stays, with the offer to register.
    first = client.post(NEW, {**PHONE_REFERRAL, "cpr": cpr})
    html = first.content.decode()
    assert first.status_code == 400
    assert 'data-code="referral.citizen_unknown"' in html
    assert f'value="{cpr}"' in html and 'value="Dehydrering"' in html
    assert 'data-lookup="unknown"' in html
    # A registration with fields missing names each of them, and keeps the rest.
    partial = client.post(
        NEW, {**PHONE_REFERRAL, "cpr": cpr, **REGISTRATION, "given_name": "", "postal_code": "28"}
    )
    html = partial.content.decode()
    assert partial.status_code == 400
    assert 'id="err-given-name"' in html and 'id="err-postal-code"' in html
    assert 'value="Fiktivsen"' in html and 'value="Dehydrering"' in html
    assert not Citizen.objects.filter(cpr=cpr).exists()
    # Completed: registered and referred in one save.
    done = client.post(NEW, {**PHONE_REFERRAL, "cpr": cpr, **REGISTRATION})
    assert done.status_code == 302, done.content.decode()[:3000]
    citizen = Citizen.objects.get(cpr=cpr)
    assert (citizen.given_name, citizen.family_name, citizen.municipality.municipality_code) == (
        "Ole Bent",
        "Fiktivsen",
        "159",
    )
    assert (float(citizen.latitude), float(citizen.longitude)) == (55.738, 12.489)
    referral = Referral.objects.get(citizen=citizen)
    assert referral.reason == "Dehydrering" and referral.status == "accepted"
    assert AuditEntry.objects.filter(
        action="create", resource_type="Patient", citizen_id=citizen.pk, outcome="permitted"
    ).exists()
    assert cpr not in done["Location"]


@pytest.mark.parametrize(
    "typed",
    ["1e1", "nan", "inf", "-Infinity", "5.5e1", "0x37", "55 75", "+55.75", "55.", ".75", "55,"],
)
def test_a_position_that_is_no_plain_decimal_is_refused_on_its_field(typed: str):
    """The address's position went through float(): "1e1" registered the
    citizen at latitude 10, and "nan" or "inf" put nothing sensible on the map."""
    client = _coordinator()
    cpr = factories.cpr_number()
    response = client.post(NEW, {**PHONE_REFERRAL, "cpr": cpr, **REGISTRATION, "latitude": typed})
    html = response.content.decode()
    assert response.status_code == 400
    assert 'id="err-latitude"' in html
    assert "Angiv adressens position som et tal" in html
    assert not Citizen.objects.filter(cpr=cpr).exists()
    assert not Referral.objects.filter(citizen__cpr=cpr).exists()


@pytest.mark.parametrize("typed", ["55.751234", "55,751234", " 55,751234 "])
def test_a_position_with_six_decimals_by_dot_or_comma_is_kept(typed: str):
    client = _coordinator()
    cpr = factories.cpr_number()
    response = client.post(NEW, {**PHONE_REFERRAL, "cpr": cpr, **REGISTRATION, "latitude": typed})
    assert response.status_code == 302
    assert float(Citizen.objects.get(cpr=cpr).latitude) == 55.751234


@pytest.mark.parametrize(
    ("refused", "code"),
    [
        ({"urgency": "whenever"}, "referral.urgency_unknown"),
        ({"required_skills": "juggling"}, "referral.skill_unknown"),
        ({"referrer_phone": "ring mig"}, "referral.phone_invalid"),
    ],
)
def test_a_referral_refused_after_registration_leaves_no_citizen_and_the_attempt_is_audited(
    refused: dict[str, str], code: str
):
    """Registration and referral are one unit: the citizen registered from
    the form stayed when the referral was then refused. The attempt is on
    the log (R9) as a denied entry naming no citizen, and the form keeps
    everything typed, the offer to register included."""
    client = _coordinator()
    cpr = factories.cpr_number()
    before = AuditEntry.objects.count()
    response = client.post(NEW, {**PHONE_REFERRAL, "cpr": cpr, **REGISTRATION, **refused})
    html = response.content.decode()
    assert response.status_code == 400
    assert f'data-code="{code}"' in html
    assert not Citizen.objects.filter(cpr=cpr).exists()
    assert not Referral.objects.filter(citizen__cpr=cpr).exists()
    # Nothing about the rolled-back citizen is on the log but the attempt.
    written = AuditEntry.objects.order_by("pk")[before:]
    assert not [e for e in written if e.outcome == "permitted" and e.action == "create"]
    denied = AuditEntry.objects.filter(
        action="create", outcome="denied", resource_type="ServiceRequest", reason_code=code
    ).get()
    assert denied.citizen_id is None and denied.detail == {"new_citizen": True}
    assert cpr not in str(denied.detail)
    # Everything typed is kept, with the offer to register her still there.
    assert 'data-lookup="unknown"' in html and 'name="register" value="on"' in html
    assert 'value="Ole Bent"' in html and 'value="Søborg Hovedgade 2"' in html
    assert 'value="Dehydrering"' in html and f'value="{cpr}"' in html
    # Corrected and sent again: registered once, referred once.
    again = client.post(NEW, {**PHONE_REFERRAL, "cpr": cpr, **REGISTRATION})
    assert again.status_code == 302, again.content.decode()[:3000]
    citizen = Citizen.objects.get(cpr=cpr)
    assert Referral.objects.filter(citizen=citizen).count() == 1
    assert (
        AuditEntry.objects.filter(
            action="create", resource_type="Patient", outcome="permitted", citizen_id=citizen.pk
        ).count()
        == 1
    )


def test_a_registration_refused_for_a_municipality_not_served_is_audited_and_writes_nothing():
    """The registration's own refusal is kept on the log by the unit (R9)."""
    factories.municipality("101", participates=False)
    client = _coordinator()
    cpr = factories.cpr_number()
    response = client.post(
        NEW, {**PHONE_REFERRAL, "cpr": cpr, **REGISTRATION, "municipality": "101"}
    )
    assert response.status_code == 403
    assert 'data-code="patient.create_not_permitted"' in response.content.decode()
    assert not Citizen.objects.filter(cpr=cpr).exists()
    assert not Referral.objects.exists()
    assert AuditEntry.objects.filter(
        action="create",
        outcome="denied",
        resource_type="Patient",
        reason_code="municipality_not_served",
        citizen_id=None,
    ).exists()
    assert 'value="Ole Bent"' in response.content.decode()


def test_a_referral_refused_for_a_registered_citizen_is_still_on_her_log():
    """Without a registration nothing is rolled back around the referral:
    its refusal stays a denied attempt on her own log (R9)."""
    client = _coordinator()
    person = factories.citizen()
    response = client.post(NEW, {**PHONE_REFERRAL, "cpr": person.cpr, "urgency": "whenever"})
    assert response.status_code == 400
    assert not Referral.objects.filter(citizen=person).exists()
    assert AuditEntry.objects.filter(
        citizen_id=person.pk,
        action="create",
        outcome="denied",
        resource_type="ServiceRequest",
        reason_code="referral.urgency_unknown",
    ).exists()


# --- the board: pins labelled and linked to the list, the full width ---------------


def test_board_pins_carry_a_visible_tag_and_link_to_their_entry_on_the_lists():
    coordinator = factories.staff(Role.COORDINATOR, factories.acute_function())
    nurse, shift = factories.acute_nurse_on_shift()
    first = factories.acute_referral(urgency="within_2_hours", by=coordinator)
    second = factories.acute_referral(urgency="within_shift", by=coordinator)
    client = Client()
    assert factories.log_in(client, coordinator).status_code == 302
    html = client.get("/coordinator/").content.decode()
    assert 'class="page page-wide"' in html
    # The nurse's pin: her first name beside it, a link to her line in the list.
    first_name = nurse.user.display_name.split(" ")[0]
    assert f'<a href="#shift-{shift.pk}" class="pin-link"' in html
    assert f'<li id="shift-{shift.pk}">' in html
    assert f'aria-hidden="true">{first_name}</text>' in html
    # Each waiting referral's pin: its number on the list, a link to its row.
    for number, referral in enumerate([first, second], start=1):
        assert f'<a href="#referral-{referral.pk}" class="pin-link"' in html
        assert f'id="referral-{referral.pk}">' in html
        assert f'aria-hidden="true">{number}</text>' in html
        assert f'<span class="row-number" title="Nummer på kortet">{number}.</span>' in html


def _signed_in(role: str) -> tuple[Client, int]:
    client = Client()
    member = factories.staff(role, factories.acute_function())
    assert factories.log_in(client, member).status_code == 302
    return client, member.user_id


@pytest.mark.parametrize(
    ("role", "url", "action", "resource_type"),
    [
        (Role.ACUTE_NURSE, LOOKUP, "search", "Patient"),
        (Role.AUDITOR, LOOKUP, "search", "Patient"),
        (Role.ACUTE_NURSE, NEW, "create", "ServiceRequest"),
        (Role.COORDINATOR, "/referrals/new/", "create", "ServiceRequest"),
    ],
)
def test_r9_a_role_refused_a_referral_form_made_an_attempt_on_the_citizen_typed(
    role: str, url: str, action: str, resource_type: str
):
    """The form names its citizen by the CPR number typed into it: a role the
    page refuses is recorded as a denied attempt on her log, by her internal
    id — the number is in no URL, no entry and no answer."""
    person = factories.citizen()
    client, user_id = _signed_in(role)
    typed = f"{str(person.cpr)[:6]}-{str(person.cpr)[6:]}"
    response = client.post(url, {**PHONE_REFERRAL, "cpr": typed})
    assert response.status_code == 403
    assert str(person.cpr)[6:] not in response.content.decode()
    entry = AuditEntry.objects.filter(actor_user_id=user_id).latest("id")
    assert (entry.outcome, entry.reason_code, entry.action) == (
        "denied",
        "role_not_permitted",
        action,
    )
    assert (entry.citizen_id, entry.resource_type, entry.resource_id) == (
        person.pk,
        resource_type,
        "",
    )
    assert str(person.cpr) not in f"{entry.detail} {entry.resource_id}"
    assert not Referral.objects.filter(citizen=person).exists()


def test_a_refused_form_naming_no_registered_citizen_is_on_no_ones_log():
    client, user_id = _signed_in(Role.ACUTE_NURSE)
    assert client.post(LOOKUP, {"cpr": "0101010000"}).status_code == 403
    assert client.post(LOOKUP, {"cpr": "not a number"}).status_code == 403
    # Her own sign-in aside (a Session entry, on no citizen's log either).
    entries = (
        AuditEntry.objects.filter(actor_user_id=user_id)
        .exclude(resource_type="Session")
        .order_by("id")
    )
    assert [(e.outcome, e.citizen_id) for e in entries] == [("denied", None)] * 2


def test_registering_a_citizen_already_registered_is_a_conflict_that_keeps_the_form():
    """The offer to register sent for a number registered meanwhile: 409 with
    the platform's Danish sentence (never the number), no second citizen, no
    referral, and the attempt on her log."""
    person = factories.citizen()
    client = _coordinator()
    response = client.post(NEW, {**PHONE_REFERRAL, "cpr": person.cpr, **REGISTRATION})
    html = response.content.decode()
    assert response.status_code == 409
    assert "En borger med dette CPR-nummer er allerede oprettet." in html
    assert "_search" not in html and "/fhir/" not in html
    assert Citizen.objects.filter(cpr=person.cpr).count() == 1
    assert not Referral.objects.exists()
    entry = AuditEntry.objects.filter(citizen_id=person.pk, outcome="denied").latest("id")
    assert entry.reason_code == "patient_exists"
    assert person.cpr not in str(entry.detail)
