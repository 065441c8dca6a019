"""What the medicine officer types at the cabinet, in its variants: a batch
number with spaces or in small letters is the package's one batch (so its
recall blocks all of it), and a formulary line takes only an ATC code that
names a medicine."""

from __future__ import annotations

import pytest

from medicine_cabinet.models import Balance, Lot, Medicine
from tests import factories as f
from tests.medicine_cabinet.conftest import receipt_body

pytestmark = pytest.mark.django_db


def test_r8_one_batch_typed_with_spaces_or_small_letters_is_one_lot_and_recalled_whole(
    officer, cabinet, paracetamol
):
    client = f.client_for(officer)
    for batch, reference in (("ab 12", "D-1"), (" AB12 ", "D-2"), ("Ab12", "D-3")):
        answer = client.post(
            "/api/cabinet/receipts",
            receipt_body(cabinet, paracetamol, batch, reference),
            format="json",
        )
        assert answer.status_code == 201, answer.content

    lot = Lot.objects.get(medicine=paracetamol)
    assert lot.batch_number == "AB12"
    assert Balance.objects.get(location=cabinet, lot=lot).quantity == 30

    recalled = client.post(
        f"/api/cabinet/lots/{lot.pk}/recall", {"reason": "Leverandøren"}, format="json"
    )
    assert recalled.status_code == 200, recalled.content
    again = client.post(
        "/api/cabinet/receipts", receipt_body(cabinet, paracetamol, "ab12", "D-4"), format="json"
    )
    assert again.status_code == 412
    assert again.json()["error"]["code"] == "lot.recalled"


def test_a_formulary_line_with_an_atc_code_that_names_no_medicine_is_refused_in_danish(officer):
    answer = f.client_for(officer).post(
        "/api/cabinet/medicines",
        {
            "atc_code": "Z99ZZ99",
            "name": "Ukendt",
            "strength": "1 mg",
            "form": "tablet",
            "unit": "tablet",
            "package_size": "10",
            "dispensing": "rx",
            "dependence_forming": False,
            "minimum_stock": "0",
        },
        format="json",
        HTTP_ACCEPT_LANGUAGE="da",
    )

    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["code"] == "medicine.atc_invalid"
    assert error["field"] == "atc_code"
    assert error["message"].startswith("Intet lægemiddel har den ATC-kode")
    assert not Medicine.objects.filter(atc_code="Z99ZZ99").exists()


def test_the_admins_formulary_form_refuses_an_atc_code_that_names_no_medicine():
    from medicine_cabinet.admin import MedicineForm

    fields = {
        "atc_code": "Z99ZZ99",
        "name": "Ukendt",
        "strength": "1 mg",
        "form": "tablet",
        "unit": "tablet",
        "package_size": "10",
        "dispensing": "rx",
        "minimum_stock": "0",
        "amount_unit": "",
        "is_active": "on",
    }
    refused = MedicineForm(data=fields)
    assert not refused.is_valid()
    assert "atc_code" in refused.errors
    assert MedicineForm(data={**fields, "atc_code": "N02BE01"}).is_valid()
