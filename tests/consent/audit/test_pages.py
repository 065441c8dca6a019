"""The auditor's pages: auditors only; searches recorded; review beside the log."""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
import re

import pytest
from django.test import Client, override_settings
from django.utils import timezone

from consent.audit.log import checkpoint_latest, sequence_batch
from consent.audit.models import AuditEntry, EntryReview, LogCosignature
from consent.audit.services import Action, Outcome, Purpose, audit_record
from core.actors import Actor
from core.models import Citizen, Role
from tests import factories
from tests.consent.audit.conftest import flags_scan_placed

pytestmark = pytest.mark.django_db

PAGES = ["/audit/", "/audit/flagged", "/audit/entries/1", "/audit/export.csv", "/audit/verify"]


def _logged_in(membership) -> Client:
    client = Client()
    response = factories.log_in(client, membership)
    assert response.status_code == 302
    return client


@pytest.mark.parametrize("role", [r for r in factories.ALL_ROLES if r != Role.AUDITOR])
def test_other_roles_are_refused(role: str) -> None:
    client = _logged_in(factories.staff(role, factories.acute_function()))
    for path in PAGES:
        assert client.get(path).status_code == 403, path
    assert client.post("/audit/entries/1/review", {"comment": "x"}).status_code == 403


def test_auditor_searches_reviews_exports_and_verifies() -> None:
    team = factories.acute_function()
    nurse = factories.staff(Role.ACUTE_NURSE, team)
    auditor = factories.staff(Role.AUDITOR, team)
    person = factories.citizen()
    denied = audit_record(
        actor=Actor.for_membership(nurse),
        action=Action.READ,
        purpose=Purpose.TREATMENT,
        citizen_id=person.pk,
        outcome=Outcome.DENIED,
        reason_code="no_care_relationship",
    )
    flags_scan_placed()
    client = _logged_in(auditor)
    page = client.get(f"/audit/?citizen={person.pk}")
    assert page.status_code == 200 and nurse.user.username in page.content.decode()
    assert person.cpr not in page.content.decode()
    assert AuditEntry.objects.filter(
        actor_user_id=auditor.user_id, purpose=Purpose.AUDIT, citizen_id=person.pk
    ).exists()
    bad = client.get("/audit/?from=not-a-date")
    assert bad.status_code == 400
    flagged = client.get("/audit/flagged").content.decode()
    assert f"/audit/entries/{denied.id}" in flagged
    assert client.get(f"/audit/entries/{denied.id}").status_code == 200
    response = client.post(f"/audit/entries/{denied.id}/review", {"comment": "Checked."})
    assert response.status_code == 302
    assert EntryReview.objects.get(entry_id=denied.id).comment == "Checked."
    assert f"/audit/entries/{denied.id}" not in client.get("/audit/flagged").content.decode()
    export = client.get(f"/audit/export.csv?citizen={person.pk}")
    assert export["Content-Type"].startswith("text/csv")
    verified = client.get("/audit/verify").content.decode()
    assert "Adgangsloggen er intakt." in verified


@override_settings(AUDIT_EXPORT_MAX_ROWS=1)
def test_a_refused_export_shows_the_search_page_as_the_search_does() -> None:
    """The export refused (too large) showed the search form without its
    choices, and said no witness had ever cosigned the log although one had."""
    team = factories.acute_function()
    auditor = factories.staff(Role.AUDITOR, team)
    actor = Actor.system("tests.pages")
    for _ in range(2):
        audit_record(actor=actor, action=Action.READ, purpose=Purpose.TREATMENT, citizen_id=1)
    sequence_batch()
    checkpoint = checkpoint_latest()
    assert checkpoint is not None
    LogCosignature.objects.create(checkpoint=checkpoint, witness="w", cosigned_at=timezone.now())
    client = _logged_in(auditor)
    searched = client.get("/audit/").content.decode()
    refused = client.get("/audit/export.csv?purpose=treatment")
    assert refused.status_code == 400
    page = refused.content.decode()
    assert "Intet vidne har endnu medunderskrevet" not in page
    assert "Seneste bevidnede checkpoint" in page and "Seneste bevidnede checkpoint" in searched
    # Cosigned a moment ago: not "0 minutter".
    assert "for under et minut siden" in searched and "0 minutter" not in searched
    assert team.name in page  # the organisations to choose from
    assert f'<option value="{Purpose.EMERGENCY}"' in page


def test_entries_are_shown_in_the_auditors_language() -> None:
    """Danish by default, English on request; the log itself keeps its codes."""
    team = factories.acute_function()
    nurse = factories.staff(Role.ACUTE_NURSE, team)
    auditor = factories.staff(Role.AUDITOR, team)
    person = factories.citizen()
    audit_record(
        actor=Actor.for_membership(nurse),
        action=Action.READ,
        purpose=Purpose.TREATMENT,
        citizen_id=person.pk,
        outcome=Outcome.DENIED,
        reason_code="no_care_relationship",
    )
    client = _logged_in(auditor)
    danish = client.get(f"/audit/?citizen={person.pk}").content.decode()
    assert "<td>Læst</td>" in danish and "<td>Behandling</td>" in danish and "Afvist" in danish
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    english = client.get(f"/audit/?citizen={person.pk}").content.decode()
    assert "<td>Read</td>" in english and "<td>Treatment</td>" in english and "Denied" in english


# --- finding a citizen by CPR number or name, names not ids, next flagged -----------


def _denied_read(nurse, person) -> AuditEntry:
    return audit_record(
        actor=Actor.for_membership(nurse),
        action=Action.READ,
        purpose=Purpose.TREATMENT,
        citizen_id=person.pk,
        outcome=Outcome.DENIED,
        reason_code="no_care_relationship",
    )


def _urls_in(html: str) -> list[str]:
    return re.findall(r'(?:href|action|src)="([^"]*)"', html)


@pytest.mark.parametrize("role", [r for r in factories.ALL_ROLES if r != Role.AUDITOR])
def test_other_roles_cannot_search_by_cpr(role: str) -> None:
    person = factories.citizen()
    client = _logged_in(factories.staff(role, factories.acute_function()))
    response = client.post("/audit/", {"cpr": person.cpr})
    assert response.status_code == 403
    assert person.cpr not in response.content.decode()


def test_a_cpr_number_typed_into_the_search_never_reaches_a_url_a_redirect_or_a_log(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """R9 and decision 0002: the CPR number travels in the body only; the
    answer is rendered at once, its links carry the internal id."""
    team = factories.acute_function()
    nurse = factories.staff(Role.ACUTE_NURSE, team)
    person = factories.citizen()
    Citizen.objects.filter(pk=person.pk).update(given_name="Else", family_name="Fiktivsen")
    _denied_read(nurse, person)
    client = _logged_in(factories.staff(Role.AUDITOR, team))
    caplog.set_level(logging.DEBUG)
    dashed = f"{str(person.cpr)[:6]}-{str(person.cpr)[6:]}"

    response = client.post("/audit/", {"cpr": dashed})

    html = response.content.decode()
    assert response.status_code == 200 and "Location" not in response
    assert "Else Fiktivsen" in html and nurse.user.display_name in html
    urls = _urls_in(html)
    assert any(f"citizen={person.pk}" in u for u in urls)  # older entries, export
    assert f"/consent/insight/{person.pk}/" in urls  # the citizen's insight report
    assert not [u for u in urls if person.cpr in u or str(person.cpr)[:6] in u]
    assert person.cpr not in caplog.text and dashed not in caplog.text
    lookups = AuditEntry.objects.filter(purpose=Purpose.AUDIT, citizen_id=person.pk)
    assert lookups.exists()
    assert not [e for e in lookups if person.cpr in str(e.detail)]
    # In a query string it is refused, and not echoed back.
    refused = client.get(f"/audit/?cpr={person.cpr}")
    assert refused.status_code == 400 and person.cpr not in refused.content.decode()


def test_a_cpr_number_nobody_has_says_what_to_do_and_a_malformed_one_is_marked() -> None:
    client = _logged_in(factories.staff(Role.AUDITOR, factories.acute_function()))
    unknown = client.post("/audit/", {"cpr": "0101011234"}).content.decode()
    assert "No citizen matches" in unknown or "Ingen borger" in unknown
    bad = client.post("/audit/", {"cpr": "12345", "username": "nobody-here"})
    html = bad.content.decode()
    assert bad.status_code == 400
    assert 'id="a-cpr" name="cpr"' in html and 'aria-invalid="true"' in html
    assert 'class="field-error" id="err-cpr"' in html


def test_search_by_name_lets_the_auditor_choose_and_shows_names_not_ids() -> None:
    team = factories.acute_function()
    nurse = factories.staff(Role.ACUTE_NURSE, team)
    first, second = factories.citizen(), factories.citizen(born=dt.date(1950, 6, 7))
    Citizen.objects.filter(pk=first.pk).update(given_name="Karen", family_name="Prøvesen")
    Citizen.objects.filter(pk=second.pk).update(given_name="Karin", family_name="Prøvesen")
    _denied_read(nurse, first)
    client = _logged_in(factories.staff(Role.AUDITOR, team))

    several = client.post("/audit/", {"name": "prøvesen"}).content.decode()
    assert f"citizen={first.pk}" in several and f"citizen={second.pk}" in several
    one = client.post("/audit/", {"name": "karen prøv"}).content.decode()
    assert "Karen Prøvesen" in one and nurse.user.display_name in one
    table = one.split("<tbody>")[1]
    assert f">{first.pk}<" not in table  # the citizen by name, not by number
    too_short = client.post("/audit/", {"name": "k"})
    assert too_short.status_code == 400 and 'id="err-name"' in too_short.content.decode()


def test_a_review_leads_to_the_next_flagged_entry_then_back_to_the_list() -> None:
    team = factories.acute_function()
    nurse = factories.staff(Role.ACUTE_NURSE, team)
    older = _denied_read(nurse, factories.citizen())
    newer = _denied_read(nurse, factories.citizen())
    flags_scan_placed()
    client = _logged_in(factories.staff(Role.AUDITOR, team))
    entry = client.get(f"/audit/entries/{newer.id}").content.decode()
    assert f'href="/audit/entries/{older.id}"' in entry  # next flagged

    empty = client.post(f"/audit/entries/{newer.id}/review", {"comment": "  "})
    html = empty.content.decode()
    assert empty.status_code == 400 and 'id="err-comment"' in html
    assert not EntryReview.objects.filter(entry_id=newer.id).exists()

    first = client.post(f"/audit/entries/{newer.id}/review", {"comment": "Set, i orden."})
    assert first.status_code == 302 and first["Location"] == f"/audit/entries/{older.id}"
    last = client.post(f"/audit/entries/{older.id}/review", {"comment": "Set, i orden."})
    assert last.status_code == 302 and last["Location"] == "/audit/flagged"
    listed = client.get("/audit/flagged", HTTP_ACCEPT_LANGUAGE="da").content.decode()
    assert "Ingen markerede poster venter" in listed


def test_flags_and_reasons_read_in_danish() -> None:
    team = factories.acute_function()
    nurse = factories.staff(Role.ACUTE_NURSE, team)
    person = factories.citizen()
    entry = _denied_read(nurse, person)
    flags_scan_placed()
    client = _logged_in(factories.staff(Role.AUDITOR, team))
    html = client.get(f"/audit/entries/{entry.id}").content.decode()
    assert "Afvist adgang" in html and "ingen behandlingsrelation" in html
    assert "no_care_relationship" not in html and "denied" not in html.split("<main")[1]


def test_reviewing_an_entry_without_a_flag_is_refused_on_the_entry_itself() -> None:
    team = factories.acute_function()
    nurse = factories.staff(Role.ACUTE_NURSE, team)
    plain = audit_record(
        actor=Actor.for_membership(nurse),
        action=Action.READ,
        purpose=Purpose.TREATMENT,
        citizen_id=factories.citizen().pk,
    )
    client = _logged_in(factories.staff(Role.AUDITOR, team))
    refused = client.post(f"/audit/entries/{plain.id}/review", {"comment": "Set."})
    assert refused.status_code == 409
    assert 'data-code="audit.entry_not_flagged"' in refused.content.decode()
    assert not EntryReview.objects.filter(entry_id=plain.id).exists()


def test_the_auditor_reads_a_refused_writes_reason_in_danish_not_its_code() -> None:
    team = factories.acute_function()
    nurse = factories.staff(Role.ACUTE_NURSE, team)
    person = factories.citizen()
    refused = audit_record(
        actor=Actor.for_membership(nurse),
        action=Action.CREATE,
        purpose=Purpose.TREATMENT,
        citizen_id=person.pk,
        outcome=Outcome.DENIED,
        resource_type="Condition",
        reason_code="record.psychiatric_diagnosis",
    )
    client = _logged_in(factories.staff(Role.AUDITOR, team))
    for path in (f"/audit/entries/{refused.id}", f"/audit/?citizen={person.pk}"):
        html = client.get(path).content.decode()
        assert "psykiatrisk diagnose (R2)" in html, path
        assert "record.psychiatric_diagnosis" not in html, path


def test_the_pages_export_reads_in_danish_time_and_words_not_codes() -> None:
    """R9: the auditor's "Export as CSV" is read by a person in a spreadsheet:
    it gave the time in UTC and the log's codes (acute_nurse, emergency,
    no_care_relationship, break_glass). Now Copenhagen time and words."""
    team = factories.acute_function()
    auditor = factories.staff(Role.AUDITOR, team)
    nurse = factories.staff(Role.ACUTE_NURSE, team, username="hanne")
    person = factories.citizen()
    actor = Actor.for_membership(nurse)
    audit_record(
        actor=actor,
        action=Action.READ,
        purpose=Purpose.EMERGENCY,
        citizen_id=person.pk,
        resource_type="Condition",
        reason_code="break_glass",
        detail={"break_glass_id": 7, "break_glass_reason": "Bevidstløs"},
    )
    audit_record(
        actor=actor,
        action=Action.READ,
        purpose=Purpose.TREATMENT,
        citizen_id=person.pk,
        outcome=Outcome.DENIED,
        reason_code="no_care_relationship",
    )
    flags_scan_placed()
    response = _logged_in(auditor).get(f"/audit/export.csv?citizen={person.pk}")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    text = response.content.decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 2
    denied, emergency = rows
    entries = AuditEntry.objects.filter(actor_user_id=nurse.user_id).order_by("-recorded_at")
    for row, entry in zip(rows, entries, strict=True):
        local = timezone.localtime(entry.recorded_at)
        assert row["Tidspunkt (dansk tid)"] == f"{local:%Y-%m-%d %H:%M:%S}"
        assert row["Borger"] == f"{person.given_name} {person.family_name}"
        assert row["Borger-id"] == str(person.pk) and row["Rolle"] == "Akutsygeplejerske"
    assert (emergency["Handling"], emergency["Udfald"]) == ("Læst", "Tilladt")
    assert emergency["Begrundelse for nødadgang"] == "Bevidstløs"
    assert "nødadgang" in emergency["Formål"] and "nødadgang" in emergency["Markeringer"].lower()
    assert denied["Udfald"] == "Afvist" and denied["Årsag"]
    codes = ("acute_nurse", "emergency", "treatment", "no_care_relationship", "break_glass")
    assert [code for code in codes if code in text] == []


@pytest.mark.parametrize(
    "path", ["/audit/?citizen={a}&citizen={b}", "/audit/export.csv?citizen={a}&citizen={b}"]
)
def test_a_filter_given_twice_in_a_link_is_refused_not_read_as_its_last(path: str) -> None:
    """R9: ``citizen=A&citizen=B`` showed and exported citizen B alone, with
    nothing to tell the auditor A was dropped; ``/api/`` refuses it."""
    team = factories.acute_function()
    auditor = factories.staff(Role.AUDITOR, team)
    nurse = factories.staff(Role.ACUTE_NURSE, team)
    people = [factories.citizen(), factories.citizen()]
    for person in people:
        audit_record(
            actor=Actor.for_membership(nurse),
            action=Action.READ,
            purpose=Purpose.TREATMENT,
            citizen_id=person.pk,
        )
    response = _logged_in(auditor).get(path.format(a=people[0].pk, b=people[1].pk))
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")
    assert "må kun angives én gang" in response.content.decode()
