"""R8/R4 on the nurse's visit page when its forms are sent without the
tablet's script (no ``client_ref``: scripts off, an old browser): a note
sent twice is one note, the glass broken twice is one break-the-glass
access with one flagged entry for the auditors. The second send is told, in
Danish, that nothing was done twice (``core.form_once``). A send with the
script's own reference is still received once by that reference."""

from __future__ import annotations

import pytest

from acute.models import VisitNote
from consent.audit.models import AuditEntry
from consent.models import BreakGlass
from medicine_cabinet.models import Administration, Balance
from tests.acute.test_pages_nurse import _on_site, _phone_order_on_page, _stocked
from tests.sent_twice import ref_for, sent_twice

pytestmark = pytest.mark.django_db


def test_a_note_sent_twice_without_the_tablets_script_is_one_note():
    _nurse, _shift, visit, client = _on_site()
    page = f"/nurse/visits/{visit.pk}/"
    path = f"{page}note/"
    form = {"kind": "note", "text": "Borgeren sover", "form_ref": ref_for(client, page, path)}

    sent_twice(client, path, form)

    assert VisitNote.objects.filter(visit=visit, text="Borgeren sover").count() == 1


def test_r4_the_glass_broken_twice_by_one_form_is_one_access_and_one_flag():
    _nurse, _shift, visit, client = _on_site()
    page = f"/nurse/visits/{visit.pk}/"
    path = f"{page}break-glass/"
    form = {
        "reason": "Bevidstløs",
        "basis": "cannot_be_asked",
        "form_ref": ref_for(client, page, path),
    }

    sent_twice(client, path, form)

    assert BreakGlass.objects.filter(citizen_id=visit.citizen_id).count() == 1
    assert (
        AuditEntry.objects.filter(
            citizen_id=visit.citizen_id, action="break_glass", outcome="permitted"
        ).count()
        == 1
    )


def test_r8_a_dose_sent_twice_without_the_tablets_script_is_given_once():
    nurse, _shift, visit, client = _on_site()
    furosemide, bag, lot = _stocked(
        nurse,
        atc="C03CA01",
        name="Furosemid",
        strength="10 mg/mL, 4 mL",
        form="solution for injection",
        unit="ampoule",
    )
    order = _phone_order_on_page(
        client,
        visit,
        medicine_atc="C03CA01",
        medicine_name="Furosemid",
        dose="1",
        dose_unit="ampoule",
        frequency="én gang",
        duration="engangsdosis",
    )
    page = f"/nurse/visits/{visit.pk}/"
    path = f"{page}give/"
    form = {
        "order_id": str(order.pk),
        "medicine_id": str(furosemide.pk),
        "quantity": "1",
        "unit": "ampoule",
        "form_ref": ref_for(client, page, path),
    }

    sent_twice(client, path, form)

    assert Administration.objects.filter(order=order).count() == 1
    assert Balance.objects.get(location=bag, lot=lot).quantity == 4


def test_the_same_form_queued_twice_by_the_tablet_is_two_entries():
    """The script queues each entry with its own ``client_ref``; the form's
    reference, the same on both (the page was not reloaded), does not make
    the second entry a repeat of the first."""
    _nurse, _shift, visit, client = _on_site()
    page = f"/nurse/visits/{visit.pk}/"
    path = f"{page}note/"
    ref = ref_for(client, page, path)

    for n, text in enumerate(("Første måling", "Anden måling")):
        form = {"kind": "note", "text": text, "form_ref": ref, "client_ref": f"entry-ref-00{n}"}
        assert client.post(path, form).status_code == 302

    assert VisitNote.objects.filter(visit=visit).count() == 2
