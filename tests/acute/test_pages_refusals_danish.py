"""Refused forms on the referrer's and the nurse's pages: the reason in Danish
next to the field, what was typed kept, nothing written — and the choices on
the visit page in Danish."""

from __future__ import annotations

import pytest
from django.test import Client

from acute.models import Referral, VisitNote
from core.models import Role
from tests import factories
from tests.acute.clinical.test_pages import ORDER
from tests.acute.test_pages import PHONE_REFERRAL, _assigned, _login, _walk_to_site

pytestmark = pytest.mark.django_db

SHORT_FORM = {k: v for k, v in PHONE_REFERRAL.items() if k not in ("source", "accept")}


def _physician() -> Client:
    factories.acute_function()
    return _login(factories.staff(Role.PHYSICIAN, factories.gp_practice("157")))


def test_a_cpr_number_not_registered_here_keeps_the_physicians_referral_form() -> None:
    client = _physician()
    response = client.post(
        "/referrals/new/",
        {**SHORT_FORM, "cpr": "010101-0000", "reason": "Fald, kan ikke rejse sig ÆØÅ"},
    )
    html = response.content.decode()
    assert response.status_code == 400
    assert 'data-code="referral.citizen_unknown"' in html
    assert 'data-field="cpr"' in html
    # The message under the CPR field, in Danish; the rest of the form as typed.
    assert "Der er ingen borger med denne identitet; kontrollér CPR-nummeret." in html
    assert 'value="0101010000"' in html
    assert "Fald, kan ikke rejse sig ÆØÅ" in html
    assert "Tør, svimmel, lavt BT" in html
    assert "Ikke tilgængelig" not in html
    assert not Referral.objects.exists()


def test_a_referral_without_the_responsible_physician_is_refused_in_danish() -> None:
    person = factories.citizen()
    client = _physician()
    form = {**SHORT_FORM, "cpr": person.cpr, "responsible_physician_name": ""}
    response = client.post("/referrals/new/", form)
    html = response.content.decode()
    assert response.status_code == 400
    assert 'data-code="referral.responsible_physician_required"' in html
    assert "Angiv lægen med behandlingsansvaret." in html
    assert "Name the physician" not in html
    assert "Dehydrering" in html
    assert not Referral.objects.exists()


def test_the_coordinators_decline_without_a_reason_is_refused_in_danish() -> None:
    coordinator = factories.staff(Role.COORDINATOR, factories.acute_function())
    referral = factories.acute_referral(by=coordinator)
    status = referral.status
    client = _login(coordinator)
    response = client.post(f"/coordinator/referrals/{referral.pk}/triage/", {"decision": "decline"})
    html = response.content.decode()
    assert response.status_code == 400
    assert "Angiv årsagen til afvisningen; den sendes til henviseren." in html
    assert "Give the reason" not in html
    referral.refresh_from_db()
    assert referral.status == status


def test_an_empty_note_is_refused_in_danish_and_nothing_is_written() -> None:
    nurse, _shift, visit = _assigned()
    client = _login(nurse)
    _walk_to_site(client, visit)
    response = client.post(f"/nurse/visits/{visit.pk}/note/", {"kind": "note", "text": "   "})
    html = response.content.decode()
    assert response.status_code == 400
    assert "Notatet er tomt." in html
    assert "The note is empty." not in html
    assert not VisitNote.objects.filter(visit=visit).exists()


def test_every_outcome_the_nurse_chooses_from_is_danish() -> None:
    nurse, _shift, visit = _assigned()
    html = _login(nurse).get(f"/nurse/visits/{visit.pk}/").content.decode()
    start = html.index('<select id="outcome"')
    select = html[start : html.index("</select>", start)]
    for danish in ("Behandlet i hjemmet", "Indlagt", "Overdraget til hjemmesygeplejen", "Død"):
        assert danish in select, danish
    assert ">Died<" not in select


def test_a_refused_phone_order_keeps_what_she_typed_with_the_reason_under_the_field() -> None:
    """Without a connection script the refused order comes back as the page:
    every field as typed, the read-back ticks kept, the refusal under its field."""
    from acute.clinical.models import MedicationOrder

    nurse, _shift, visit = _assigned()
    client = _login(nurse)
    _walk_to_site(client, visit)
    order = {
        **ORDER,
        "ordered_by_authorisation_id": "ABC12",
        "ordered_by_organisation_name": "Lægehuset Øst",
        "ordered_by_role": "physician",
        "dose": "fire hundrede",
    }
    response = client.post(f"/nurse/visits/{visit.pk}/order/", order)
    html = response.content.decode()
    assert response.status_code == 400
    start = html.index('<h2 id="order-title">')
    form = html[start : html.index("</form>", start)]
    for name in ("ordered_by_authorisation_id", "ordered_by_organisation_name", "frequency"):
        assert f'name="{name}" value="{order[name]}"' in form, name
    assert 'name="dose" value="fire hundrede"' in form
    assert 'aria-invalid="true"' in form[form.index('name="dose"') :][:200]
    assert 'class="field-error"' in form
    assert form.count(" checked") == 2
    assert not MedicationOrder.objects.filter(visit=visit).exists()


def test_every_missing_field_of_a_referral_is_named_at_once() -> None:
    person = factories.citizen()
    client = _physician()
    form = {
        **SHORT_FORM,
        "cpr": person.cpr,
        "responsible_physician_name": "",
        "responsible_physician_phone": " ",
        "referrer_phone": "",
        "urgency": "whenever",
    }
    response = client.post("/referrals/new/", form)
    html = response.content.decode()
    assert response.status_code == 400
    assert "4 felter skal rettes." in html
    for message in (
        "Angiv lægen med behandlingsansvaret.",
        "Angiv telefonnummeret til lægen med behandlingsansvaret.",
        "Angiv et tilbagekaldsnummer til henviseren.",
        # The choices in words, never their codes.
        "Vælg en hastegrad: inden for 2 timer, inden for vagten, næste dag.",
    ):
        assert message in html, message
    assert "Dehydrering" in html
    assert not Referral.objects.exists()


def test_every_refused_form_on_the_visit_keeps_what_she_typed_in_that_form_only() -> None:
    """Procedure, delegation, note, completion and break-the-glass: refused,
    the page comes back with her text in the form she sent (several forms
    share field names such as ``note`` and ``code``), nothing saved."""
    nurse, _shift, visit = _assigned()
    client = _login(nurse)
    _walk_to_site(client, visit)
    url = f"/nurse/visits/{visit.pk}"

    def textarea(html: str, element_id: str) -> str:
        start = html.index(f'id="{element_id}"')
        return html[html.index(">", start) + 1 : html.index("</textarea>", start)]

    refused = client.post(
        f"{url}/procedure/",
        {"code": "urinary-catheter", "status": "half-done", "note": "Ch 14, let modstand ÆØÅ"},
    ).content.decode()
    assert textarea(refused, "proc-note") == "Ch 14, let modstand ÆØÅ"
    assert textarea(refused, "deleg-note") == ""

    refused = client.post(
        f"{url}/delegation/",
        {
            "code": "NPU01685",
            "physician_name": "",
            "physician_authorisation_id": "XY123",
            "physician_organisation_name": "Lægehuset Øst",
            "note": "INR i morgen",
        },
    ).content.decode()
    assert textarea(refused, "deleg-note") == "INR i morgen"
    assert textarea(refused, "proc-note") == ""
    assert 'value="XY123"' in refused and 'value="Lægehuset Øst"' in refused
    assert "<details open>" in refused

    refused = client.post(
        f"{url}/note/", {"kind": "diary", "text": "Borgeren sov ved ankomst."}
    ).content.decode()
    assert textarea(refused, "note-text") == "Borgeren sov ved ankomst."
    assert not VisitNote.objects.filter(visit=visit).exists()

    refused = client.post(
        f"{url}/complete/", {"outcome": "moved", "assessment": "Stabil, drikker godt."}
    ).content.decode()
    assert textarea(refused, "assessment") == "Stabil, drikker godt."
    assert "Vælg et udfald: behandlet i hjemmet, indlagt" in refused

    refused = client.post(
        f"{url}/break-glass/", {"reason": "kort", "basis": "citizen_consented"}
    ).content.decode()
    assert textarea(refused, "btg-reason") == "kort"
    assert 'value="citizen_consented" checked' in refused
    visit.refresh_from_db()
    assert visit.status == "on_site"


def test_a_citizen_registered_dead_is_refused_in_danish_on_every_page() -> None:
    """Nothing is ordered, measured or referred for a citizen after her
    registered death: the nurse's phone order and vital signs, and the
    physician's referral, are refused in Danish, nothing is written, and each
    attempt is on her record (R9)."""
    import datetime as dt

    from django.utils import timezone

    from acute.clinical.models import MedicationOrder
    from acute.models import VitalSign
    from consent.audit.models import AuditEntry
    from core.models import Citizen

    nurse, _shift, visit = _assigned()
    client = _login(nurse)
    _walk_to_site(client, visit)
    Citizen.objects.filter(pk=visit.citizen_id).update(
        deceased_at=timezone.now() - dt.timedelta(minutes=1)
    )

    ordered = client.post(f"/nurse/visits/{visit.pk}/order/", ORDER)
    html = ordered.content.decode()
    assert ordered.status_code == 400
    assert 'data-code="time.after_death"' in html
    assert "Tidspunktet ligger efter borgerens registrerede dødstidspunkt." in html
    assert not MedicationOrder.objects.filter(visit=visit).exists()

    measured = client.post(f"/nurse/visits/{visit.pk}/vitals/", {"vital_8867-4": "88"})
    html = measured.content.decode()
    assert measured.status_code == 400
    assert "Målinger kan ikke ligge efter borgerens registrerede dødstidspunkt." in html
    assert not VitalSign.objects.filter(visit=visit).exists()

    referred = _physician().post(
        "/referrals/new/", {**SHORT_FORM, "cpr": Citizen.objects.get(pk=visit.citizen_id).cpr}
    )
    html = referred.content.decode()
    assert referred.status_code == 412
    assert (
        "Borgeren er registreret som død, så henvisningen hverken modtages eller accepteres."
        in html
    )
    assert Referral.objects.filter(citizen_id=visit.citizen_id).count() == 1

    denied = AuditEntry.objects.filter(citizen_id=visit.citizen_id, outcome="denied")
    assert {(d.resource_type, d.reason_code) for d in denied} >= {
        ("MedicationRequest", "time.after_death"),
        ("Observation", "vital_signs.after_death"),
        ("ServiceRequest", "citizen_deceased"),
    }
