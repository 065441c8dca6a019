"""Vital signs, a test result, a procedure or a physician's phone order the
nurse took while her tablet had no connection arrive later. The citizen was
registered dead in between: what she did before the death is documentation
of the visit (a nurse on site documents up to the time of death), so it is
recorded at the time she did it, not refused as done after the death. What
the tablet says was done after the death is refused, and audited as denied
(R9). A phone order's days and 24-hour limit run from when the physician
gave it, not from when the tablet found a connection (R8)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from acute.clinical.models import LabResult, MedicationOrder, ProcedureRecord
from acute.models import Visit, VitalSign
from consent.audit.models import AuditEntry
from tests.acute.test_pages_nurse import _on_site

pytestmark = pytest.mark.django_db

REPLAY = {"HTTP_X_OFFLINE_SEND": "1", "HTTP_X_OFFLINE_REPLAY": "1"}


def _died_ten_minutes_ago(visit: Visit) -> None:
    Visit.objects.filter(pk=visit.pk).update(assigned_at=timezone.now() - dt.timedelta(hours=1))
    citizen = visit.citizen
    citizen.deceased_at = timezone.now() - dt.timedelta(minutes=10)
    citizen.save(update_fields=["deceased_at"])


def test_vital_signs_taken_offline_before_the_death_are_recorded_at_their_time():
    _nurse, _shift, visit, client = _on_site()
    _died_ten_minutes_ago(visit)
    taken = timezone.now() - dt.timedelta(minutes=20)
    response = client.post(
        f"/nurse/visits/{visit.pk}/vitals/",
        {
            "vital_8867-4": "88",
            "client_ref": "vitals-death-1",
            "given_offline_at": taken.isoformat(),
        },
        **REPLAY,
    )
    assert response.status_code == 200, response.content.decode()[:2000]
    sign = VitalSign.objects.get(visit=visit)
    assert sign.measured_at == taken


def test_vital_signs_the_tablet_says_were_taken_after_the_death_are_refused_and_audited():
    _nurse, _shift, visit, client = _on_site()
    _died_ten_minutes_ago(visit)
    taken = timezone.now() - dt.timedelta(minutes=5)
    response = client.post(
        f"/nurse/visits/{visit.pk}/vitals/",
        {
            "vital_8867-4": "88",
            "client_ref": "vitals-death-2",
            "given_offline_at": taken.isoformat(),
        },
        **REPLAY,
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "vital_signs.after_death"
    assert not VitalSign.objects.filter(visit=visit).exists()
    assert AuditEntry.objects.filter(
        citizen_id=visit.citizen_id, outcome="denied", reason_code="vital_signs.after_death"
    ).exists()


def test_a_result_taken_offline_before_the_death_is_recorded_at_its_time():
    _nurse, _shift, visit, client = _on_site()
    _died_ten_minutes_ago(visit)
    taken = timezone.now() - dt.timedelta(minutes=20)
    response = client.post(
        f"/nurse/visits/{visit.pk}/lab/",
        {
            "code": "NPU19748",
            "value": "12",
            "client_ref": "lab-death-01",
            "given_offline_at": taken.isoformat(),
        },
        **REPLAY,
    )
    assert response.status_code == 200, response.content.decode()[:2000]
    assert LabResult.objects.get(visit=visit, test__code="NPU19748").effective_at == taken


def test_a_time_from_the_tablet_ahead_of_the_server_is_refused_not_moved():
    _nurse, _shift, visit, client = _on_site()
    response = client.post(
        f"/nurse/visits/{visit.pk}/vitals/",
        {
            "vital_8867-4": "88",
            "client_ref": "vitals-late-1",
            "given_offline_at": (timezone.now() + dt.timedelta(hours=3)).isoformat(),
        },
        **REPLAY,
    )
    assert response.status_code == 400, response.content.decode()[:2000]
    assert response.json()["error"]["code"] == "offline.time_in_future"
    assert not VitalSign.objects.filter(visit=visit).exists()


def test_a_procedure_done_offline_before_the_death_is_recorded_at_its_time():
    _nurse, _shift, visit, client = _on_site()
    _died_ten_minutes_ago(visit)
    done = timezone.now() - dt.timedelta(minutes=20)
    response = client.post(
        f"/nurse/visits/{visit.pk}/procedure/",
        {
            "code": "urinary-catheter",
            "status": "completed",
            "note": "KAD CH14",
            "client_ref": "procedure-death-1",
            "given_offline_at": done.isoformat(),
        },
        **REPLAY,
    )
    assert response.status_code == 200, response.content.decode()[:2000]
    assert ProcedureRecord.objects.get(visit=visit).performed_at == done


def test_a_phone_order_taken_offline_runs_from_when_the_physician_gave_it():
    _nurse, _shift, visit, client = _on_site()
    Visit.objects.filter(pk=visit.pk).update(assigned_at=timezone.now() - dt.timedelta(hours=1))
    given = timezone.now() - dt.timedelta(minutes=40)
    response = client.post(
        f"/nurse/visits/{visit.pk}/order/",
        {
            "ordered_by_name": "Læge Hansen",
            "ordered_by_authorisation_id": "ABC12",
            "ordered_by_organisation_name": "Lægevagten",
            "medicine_atc": "C03CA01",
            "medicine_name": "Furosemid",
            "dose": "1",
            "dose_unit": "ampoule",
            "frequency": "to gange dagligt",
            "duration": "2 dage",
            "route": "intravenøst",
            "indication": "Lungeødem",
            "read_back": "on",
            "read_back_confirmed": "on",
            "client_ref": "order-offline-1",
            "given_offline_at": given.isoformat(),
        },
        **REPLAY,
    )
    assert response.status_code == 200, response.content.decode()[:2000]
    assert MedicationOrder.objects.get(visit=visit).ordered_at == given
