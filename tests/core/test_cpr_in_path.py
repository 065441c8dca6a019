"""Decision 0002 at its root: a CPR number typed into any address — a page, an
``/api/`` route, any ``/fhir/`` type — is refused at the door with 400
``request.cpr_in_url`` before anyone is signed in or sent anywhere: never
redirected to the login page with the number in ``next``, never echoed, and
a known caller's attempt is recorded without it (R9). The audit log's
counters, which reach ten digits, are no CPR numbers."""

from __future__ import annotations

import pytest
from django.test import Client

from consent.audit.models import AuditEntry
from core.models import Role
from tests import factories as f

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

CPR = "0101801234"
DASHED = "010180-1234"


def _code(response) -> str:
    body = response.json()
    if body.get("resourceType") == "OperationOutcome":
        return body["issue"][0]["details"]["coding"][0]["code"]
    return body["error"]["code"]


def _never_shown(response) -> None:
    text = response.content.decode() + str(response.headers)
    assert CPR not in text and DASHED not in text and "1801234" not in text


def _last_entry_id() -> int:
    return AuditEntry.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


@pytest.mark.parametrize(
    "path",
    [
        f"/coordinator/referrals/{CPR}/",
        f"/coordinator/referrals/{CPR}",
        f"/consent/insight/{CPR}/",
        f"/consent/insight/{DASHED}/",
        f"/nurse/visits/{CPR}/",
    ],
)
def test_a_cpr_number_in_a_pages_address_is_refused_before_the_login(path) -> None:
    """Not signed in: a 400 page in Danish, not a redirect to the login page
    that carries the number in ``next`` (in Location and the server's log)."""
    response = Client().get(path, HTTP_ACCEPT_LANGUAGE="da")
    assert response.status_code == 400, (path, response.status_code)
    assert "Location" not in response
    assert "Et CPR-nummer skrives aldrig i en sides adresse" in response.content.decode()
    _never_shown(response)


@pytest.mark.parametrize(
    "path",
    [
        f"/api/acute/referrals/{CPR}",
        f"/api/acute/referrals/{DASHED}/decline",
        f"/api/consent/citizens/{CPR}",
        f"/api/unknown/{CPR}",
    ],
)
def test_a_cpr_number_in_an_api_path_is_refused_in_the_envelope(path) -> None:
    anonymous = Client().get(path)
    assert anonymous.status_code == 400, (path, anonymous.content[:200])
    assert _code(anonymous) == "request.cpr_in_url"
    _never_shown(anonymous)
    coordinator = f.client_for(f.staff(Role.COORDINATOR, f.acute_function()))
    known = coordinator.post(path, {}, format="json")
    assert known.status_code == 400 and _code(known) == "request.cpr_in_url"
    _never_shown(known)


def test_r9_a_known_callers_cpr_in_a_path_is_recorded_without_the_number() -> None:
    """A token's holder, on any FHIR type and on the API: the attempt is on
    the log, naming no citizen and holding no number; a caller nobody knows
    is refused alike and leaves no entry."""
    nurse = f.staff(Role.ACUTE_NURSE, f.acute_function())
    client = f.client_for(nurse)
    for path, resource_type, action in [
        (f"/fhir/Condition/{CPR}", "Condition", "read"),
        (f"/fhir/Observation/{DASHED}/_history/1", "Observation", "read"),
        (f"/fhir/Patient/{CPR}/$everything", "Patient", "read"),
        (f"/api/acute/referrals/{CPR}", "", "read"),
    ]:
        before = _last_entry_id()
        response = client.get(path)
        assert response.status_code == 400 and _code(response) == "request.cpr_in_url", path
        if path.startswith("/fhir/"):
            assert response.json()["resourceType"] == "OperationOutcome"
        _never_shown(response)
        entry = AuditEntry.objects.filter(pk__gt=before).get()
        assert (entry.action, entry.outcome, entry.reason_code) == (action, "denied", "cpr_in_url")
        assert entry.resource_type == resource_type and entry.citizen_id is None
        assert entry.actor_user_id == nurse.user.pk
        assert "1801234" not in str(entry.detail) + entry.resource_id
    before = _last_entry_id()
    anonymous = Client().get(f"/fhir/Condition/{CPR}")
    assert anonymous.status_code == 400 and _code(anonymous) == "request.cpr_in_url"
    assert _last_entry_id() == before


def test_r9_a_signed_in_pages_attempt_is_recorded() -> None:
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    client = Client()
    f.log_in(client, coordinator)
    before = _last_entry_id()
    response = client.get(f"/coordinator/referrals/{CPR}/")
    assert response.status_code == 400
    _never_shown(response)
    entry = AuditEntry.objects.filter(pk__gt=before).get()
    assert (entry.outcome, entry.reason_code, entry.citizen_id) == ("denied", "cpr_in_url", None)
    assert entry.actor_user_id == coordinator.user.pk


def test_the_audit_logs_ten_digit_counters_are_no_cpr_numbers() -> None:
    """Entry ids reach ten digits at national scale: the public log, the
    auditor's API and pages and FHIR's AuditEvent answer them as ids."""
    auditor = f.staff(Role.AUDITOR, f.municipality())
    api = f.client_for(auditor)
    for path in [
        "/api/audit/log/entries/1234567890/inclusion",
        f"/api/audit/entries/{CPR[1:]}0",
        "/fhir/AuditEvent/1234567890",
    ]:
        response = api.get(path)
        assert response.status_code != 400, (path, response.content[:200])
    page = Client()
    f.log_in(page, auditor)
    assert page.get("/audit/entries/1234567890").status_code == 404


@pytest.mark.parametrize(
    "path",
    [
        f"/api/audit/log/entries/{CPR}/inclusion",
        f"/api/audit/log/{CPR}",
        f"/api/audit/log/{DASHED}",
    ],
)
def test_a_cpr_number_in_the_public_logs_paths_is_refused_as_on_every_door(path: str) -> None:
    """Every path under ``/api/audit/log/`` was let through: an inclusion
    proof asked for ``0101801234`` put the number into the request log and,
    as the entry id asked for, into the auditor's own entry."""
    auditor = f.staff(Role.AUDITOR, f.municipality())
    before = _last_entry_id()
    response = f.client_for(auditor).get(path)
    assert response.status_code == 400 and _code(response) == "request.cpr_in_url"
    _never_shown(response)
    for entry in AuditEntry.objects.filter(pk__gt=before):
        assert "1801234" not in str(entry.detail) + entry.resource_id


def test_the_login_and_the_language_switch_never_carry_a_cpr_number_on() -> None:
    """``next`` of the login, kept over a refused password, and of the
    language form: a value shaped like a CPR number is dropped."""
    nurse = f.staff(Role.ACUTE_NURSE, f.acute_function())
    client = Client()
    refused = client.post(
        "/login/", {"username": nurse.user.username, "password": "wrong", "next": f"/x/{CPR}/"}
    )
    _never_shown(refused)
    signed_in = f.log_in(client, nurse, next_url=f"/nurse/visits/{CPR}/")
    assert signed_in.status_code == 302 and CPR not in signed_in["Location"]
    switched = client.post("/i18n/setlang/", {"language": "en", "next": f"/nurse/visits/{CPR}/"})
    assert switched.status_code == 302 and switched["Location"] == "/"
    back = client.post("/i18n/setlang/", {"language": "da", "next": "/nurse/"})
    assert back["Location"] == "/nurse/"


def test_a_static_files_content_hash_is_no_cpr_number() -> None:
    """A static file's name carries a hash of its content, which can hold ten
    digits, or six, a digit, two letters and a digit: the file is still served
    (here: not found, as any missing file), never refused as a CPR number, so
    a page never loses its style or script to the look of a hash."""
    for name in ["core/app.1234567890ab.css", "core/app.1234567ab9cd.js"]:
        response = Client().get(f"/static/{name}")
        assert response.status_code == 404, (name, response.status_code)
