"""A page form whose bytes are no UTF-8 is refused at the door.

Django reads such bytes as replacement characters (U+FFFD), so the officer's
recall would have been kept with a reason she never typed; the door refuses
the form whole with 400 ``request.form_unreadable``, before any view, and
the lot stays as it was. A form in proper UTF-8 (æ, ø, å) is taken."""

from __future__ import annotations

import pytest

from medicine_cabinet.models import Lot
from tests import factories as f
from tests.medicine_cabinet.conftest import receive

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

FORM = "application/x-www-form-urlencoded"


@pytest.mark.parametrize("reason", [b"%FF%FE", b"Producent%C3", b"%ED%A0%80", b"\xff"])
def test_a_recall_whose_reason_is_no_utf8_is_refused_and_nothing_kept(
    officer, cabinet, paracetamol, reason
) -> None:
    lot = receive(officer, cabinet, paracetamol, "10", batch="B1", expires_in_days=40)
    client = f.client_for(officer)
    f.log_in(client, officer)
    body = b"lot=" + str(lot.pk).encode() + b"&reason=" + reason
    answer = client.post("/cabinet/recall/", body, content_type=FORM, HTTP_ACCEPT_LANGUAGE="da")
    assert answer.status_code == 400
    assert b'data-code="request.form_unreadable"' in answer.content
    assert "ødelagt tekst" in answer.content.decode()
    assert Lot.objects.get(pk=lot.pk).recalled_at is None


def test_a_recall_in_utf8_is_taken(officer, cabinet, paracetamol) -> None:
    lot = receive(officer, cabinet, paracetamol, "10", batch="B1", expires_in_days=40)
    client = f.client_for(officer)
    f.log_in(client, officer)
    body = f"lot={lot.pk}&reason=Fejl+i+pr%C3%B8ve".encode()
    answer = client.post("/cabinet/recall/", body, content_type=FORM)
    assert answer.status_code == 302
    assert Lot.objects.get(pk=lot.pk).recall_reason == "Fejl i prøve"
