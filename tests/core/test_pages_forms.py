"""Every form a demo user reaches on her pages, submitted as a person might:
as it is rendered, with every field left empty, and with nonsense in every
field (letters for numbers, negative and huge numbers, 5,000 characters, a
date that does not exist, a time in the hour the clocks show twice, markup, a
CPR-shaped number in free text), without its CSRF token, and with the id of
an object she may not touch in a hidden field or a list of choices.

A form fails when it answers 500; when a refusal is not in Danish words (a
code, a choice value, a message the Danish catalogue lacks, Django's English
error page); when a refused post leaves a row behind; when another
organisation's or another nurse's object is not refused, or a refusal about
a citizen is not audited (R9); and when a redirect carries a CPR number in
its address (decision 0002).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import connection
from django.http import HttpResponse
from django.test import Client
from django.utils import timezone

from acute.clinical.models import MedicationOrder
from acute.clinical.services.orders import ORDER_STATUSES
from acute.models import DeadlineWarning, NurseShift, Visit
from acute.services import visit_accept, visit_assign
from consent.audit.models import AuditEntry
from core.actors import Actor
from core.models import Membership, Organisation, Role, User
from integrations.models import InboundMessage, Partner
from medicine_cabinet.models import Location, Lot, Medicine
from tests import factories
from tests.core.test_danish_pages import _raise_warnings_and_notifications
from tests.core.test_pages_crawl import (
    ERROR_ENGLISH,
    SKIP,
    _faults,
    _kind,
    _Lookups,
    _read,
    _signed_in,
    _structure_faults,
    choice_values,
    lookups,  # noqa: F401 (the fixture)
)

pytestmark = pytest.mark.django_db

# One form of a kind (the same address and fields with another id) is enough.
MAX_PAGES = 40
# Leaving and the language switch are no one's data.
NOT_SUBMITTED = ("/logout/", "/i18n/")
CPR_LIKE = re.compile(r"(?<!\d)\d{6}-?\d{4}(?!\d)")
FORMAT_EXAMPLE = re.compile(r"\((?:fx|e\.g\.) [A-Z]\d\d[A-Z]{2}\d\d\)")
# Nonsense a person (or a broken client) may send in any field.
GARBAGE = {
    "letters": "abc",
    "negative": "-1",
    "huge": "9" * 30,
    "long": "x" * 5000,
    "no such date": "2026-02-30",
    "repeated hour": "2026-10-25T02:30",
    "markup": "<script>alert(1)</script><b>fed</b>",
    "cpr in free text": "0103411234",
}
# Each post sends every field the nonsense of its own kind, so that three
# posts carry every kind of nonsense to every kind of field: a number field
# gets no 5,000 characters that a text field already got on the same form.
TEXT_KINDS = {"text", "textarea", "search", "email", "tel", "url", "password"}
TIME_KINDS = {"datetime-local", "time", "month", "week"}
ROUNDS = [
    {"text": "long", "date": "no such date", "time": "repeated hour", "other": "letters"},
    {"text": "markup", "date": "letters", "time": "no such date", "other": "negative"},
    {"text": "cpr in free text", "date": "huge", "time": "letters", "other": "huge"},
]
assert {what for kinds in ROUNDS for what in kinds.values()} == set(GARBAGE)
# Tables a refusal may write to: the audit log (every refusal is recorded),
# sign-in and session bookkeeping, and the throttles.
BOOKKEEPING_APPS = {"audit", "sessions", "admin", "otp_totp", "otp_static", "contenttypes"}


@dataclass
class _Form:
    action: str
    method: str
    fields: list[tuple[str, str, str]] = field(default_factory=list)  # (kind, name, value)
    choices: dict[str, list[str]] = field(default_factory=dict)


class _Forms(HTMLParser):
    """The forms of a page with their fields, as a browser would send them."""

    def __init__(self, url: str) -> None:
        super().__init__(convert_charrefs=True)
        self.url = url
        self.forms: list[_Form] = []
        self.form: _Form | None = None
        self.select: str | None = None
        self.textarea: str | None = None
        self.buttons: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            action = a.get("action") or self.url
            if action.startswith("?"):
                action = self.url.split("?")[0] + action
            self.form = _Form(action.split("#")[0], (a.get("method") or "get").lower())
            self.forms.append(self.form)
            self.buttons = set()
            return
        if self.form is None or not a.get("name"):
            if tag == "option" and self.form is not None and self.select:
                self._option(a)
            return
        name, kind = a["name"], a.get("type", "text") if tag == "input" else tag
        if tag == "select":
            self.select = name
            self.form.choices[name] = []
            self.form.fields.append(("select", name, ""))
        elif tag == "textarea":
            self.textarea = name
            self.form.fields.append(("textarea", name, ""))
        elif kind in ("submit", "button") or tag == "button":
            # The first button of a name is the one pressed.
            if name not in self.buttons:
                self.buttons.add(name)
                self.form.fields.append(("button", name, a.get("value", "")))
        elif kind in ("checkbox", "radio"):
            if "checked" in a or not any(n == name for _k, n, _v in self.form.fields):
                self.form.fields = [f for f in self.form.fields if f[1] != name]
                self.form.fields.append((kind, name, a.get("value", "on")))
        else:
            self.form.fields.append((kind, name, a.get("value", "")))

    def _option(self, a: dict[str, str]) -> None:
        assert self.form is not None and self.select is not None
        value = a.get("value", "")
        self.form.choices[self.select].append(value)
        fields = self.form.fields
        index = next(i for i, f in enumerate(fields) if f[1] == self.select)
        if "selected" in a or (
            not fields[index][2] and value and len(self.form.choices[self.select]) == 1
        ):
            fields[index] = ("select", self.select, value)

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.form = None
        elif tag == "select":
            self.select = None
        elif tag == "textarea":
            self.textarea = None

    def handle_data(self, data: str) -> None:
        if self.form is not None and self.textarea:
            fields = self.form.fields
            index = next(i for i, f in enumerate(fields) if f[1] == self.textarea)
            fields[index] = ("textarea", self.textarea, fields[index][2] + data)


def _forms_reached(client: Client) -> list[_Form]:
    """One form of each kind on the pages she reaches by following links."""
    queue, seen, kinds = ["/", "/help/"], set(), set()
    forms: dict[str, _Form] = {}
    while queue and len(seen) < MAX_PAGES:
        url = queue.pop(0)
        if url in seen or _kind(url) in kinds:
            continue
        seen.add(url)
        kinds.add(_kind(url))
        response = client.get(url)
        if response.status_code in (301, 302):
            queue.append(response["Location"])
            continue
        if "text/html" not in response.get("Content-Type", ""):
            continue
        html = response.content.decode()
        _text, links = _read(html)
        queue += [link for link in links if link not in seen]
        page = _Forms(url)
        page.feed(html)
        for form in page.forms:
            if form.action.startswith(NOT_SUBMITTED) or form.action.startswith(SKIP[2:]):
                continue
            key = (
                form.method + _kind(form.action) + ",".join(sorted(n for _k, n, _v in form.fields))
            )
            forms.setdefault(key, form)
    return list(forms.values())


def _rows() -> dict[str, int]:
    """Every table's row count but the bookkeeping's, in one query."""
    tables = sorted(
        model._meta.db_table
        for model in apps.get_models()
        if model._meta.app_label not in BOOKKEEPING_APPS
        and model._meta.managed
        and not model._meta.proxy
    )
    quote = connection.ops.quote_name
    # The names are the models' own tables, quoted; no input reaches them.
    counts = (f"(SELECT count(*) FROM {quote(t)})" for t in tables)  # noqa: S608
    sql = "SELECT " + ", ".join(counts)
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return dict(zip(tables, cursor.fetchone(), strict=True))


@dataclass
class _Foreign:
    """Ids of objects the signed-in user may not touch, by field name, and by
    the address they stand in: (pattern of the address, the id put in its
    place, whether the object is a citizen's, so the refusal is audited)."""

    by_field: dict[str, str]
    citizen_fields: set[str]
    in_address: list[tuple[str, str, bool]]


def _refused_message() -> InboundMessage:
    """A message from 1813 the platform refused, on the coordinator's board,
    and one it took (returned): not a refusal, so not hers to note."""
    partner = factories.integration_partner(
        Partner.Kind.HELPLINE_1813, factories.organisation("helpline")
    )
    for outcome in (InboundMessage.Outcome.FATAL, InboundMessage.Outcome.OK):
        taken = InboundMessage.objects.create(
            partner=partner,
            bundle_id=f"forms-{outcome}",
            header_id=f"forms-{outcome}",
            event="acute-referral",
            outcome=outcome,
            http_status=400 if outcome == InboundMessage.Outcome.FATAL else 200,
            acknowledgement={},
            reason_code="record.psychiatric_diagnosis",
        )
    return taken


def _other_acute_function() -> dict[str, str]:
    """Another acute function's shift, cabinet and referral (of a citizen of a
    municipality only it serves), and a lot this one never booked."""
    other = factories.organisation(Organisation.Kind.ACUTE_FUNCTION, "Anden Akutfunktion")
    other.serves.add(factories.municipality("101", participates=True))
    coordinator = factories.staff(Role.COORDINATOR, other)
    referral = factories.acute_referral(
        person=factories.citizen(municipality_code="101"), by=coordinator
    )
    now = timezone.now()
    nurse = factories.staff(Role.ACUTE_NURSE, other)
    shift = NurseShift.objects.create(
        nurse=nurse.user,
        acute_function=other,
        kind=NurseShift.Kind.DAY,
        starts_at=now - dt.timedelta(hours=1),
        ends_at=now + dt.timedelta(hours=7),
        base_name="Anden base",
        base_latitude=55.9,
        base_longitude=12.3,
    )
    # Its nurse's visit: another nurse's, to record on.
    visit_assign(referral=referral, shift=shift, actor=Actor.for_membership(coordinator))
    cabinet = Location.objects.create(
        organisation=other, kind=Location.Kind.CABINET, name="Andet skab"
    )
    medicine = Medicine.objects.first()
    assert medicine is not None
    lot = Lot.objects.create(
        medicine=medicine, batch_number="FREMMED-1", expires_on=dt.date(2030, 1, 1)
    )
    return {
        "shift_id": str(shift.pk),
        "cabinet": str(cabinet.pk),
        "location": str(cabinet.pk),
        "lot": str(lot.pk),
        "referral": str(referral.pk),
        "message": str(_refused_message().pk),
        "order": str(_other_physicians_order().pk),
    }


def _other_physicians_order() -> MedicationOrder:
    """Two phone orders taken on the demo's visit, accepted: one the demo
    physician gave (so that her order page has its forms), one another
    physician gave (returned)."""
    visit = Visit.objects.exclude(status__in=["completed", "cancelled"]).first()
    assert visit is not None
    nurse = Membership.objects.get(user=visit.shift.nurse, role=Role.ACUTE_NURSE)
    if visit.status not in ORDER_STATUSES:
        visit = visit_accept(visit=visit, actor=Actor.for_membership(nurse))
    colleague = factories.staff(Role.PHYSICIAN, factories.gp_practice("159"))
    colleague.user.authorisation_id = "0ANDEN"
    colleague.user.save(update_fields=["authorisation_id"])
    for authorisation in ("0DEMO", "0ANDEN"):
        order = factories.phone_order(nurse, visit, authorisation_id=authorisation)
    return order


def _foreign(username: str, other: dict[str, str]) -> _Foreign:
    visit = Visit.objects.exclude(shift__nurse__username=username).first()
    assert visit is not None
    membership = Membership.objects.exclude(user__username=username).first()
    assert membership is not None
    warning = DeadlineWarning.objects.filter(referral_id=other["referral"]).first()
    assert warning is not None
    return _Foreign(
        by_field={
            **{k: v for k, v in other.items() if k not in ("referral", "message", "order")},
            "place": f"visit-{visit.pk}",
            "membership": str(membership.pk),
        },
        citizen_fields={"place"},
        in_address=[
            (r"^/nurse/visits/(\d+)/", str(visit.pk), True),
            (r"^/coordinator/referrals/(\d+)/", other["referral"], True),
            (r"^/coordinator/warnings/(\d+)/", str(warning.pk), True),
            (r"^/coordinator/refused/(\d+)/", other["message"], False),
            (r"^/physician/orders/(\d+)/", other["order"], True),
        ],
    )


def _nonsense(kind: str, nonsense: dict[str, str]) -> str:
    """The nonsense of this post for a field of this kind."""
    if kind in TEXT_KINDS:
        return GARBAGE[nonsense["text"]]
    if kind == "date":
        return GARBAGE[nonsense["date"]]
    if kind in TIME_KINDS:
        return GARBAGE[nonsense["time"]]
    return GARBAGE[nonsense["other"]]


def _variants(form: _Form, foreign: _Foreign) -> list[tuple[str, dict[str, str], str]]:
    """(what, data, address) for every way the form is sent."""
    editable = [(k, n) for k, n, _v in form.fields if n != "csrfmiddlewaretoken"]
    rendered = {n: v for _k, n, v in form.fields}
    variants = [("as rendered", rendered, form.action)]
    variants.append(("empty", {**rendered, **{n: "" for _k, n in editable}}, form.action))
    for nonsense in ROUNDS:
        sent = {n: _nonsense(k, nonsense) for k, n in editable}
        variants.append((", ".join(nonsense.values()), {**rendered, **sent}, form.action))
    for name in set(rendered) & set(foreign.by_field):
        variants.append(
            (f"foreign {name}", {**rendered, name: foreign.by_field[name]}, form.action)
        )
    for pattern, other_id, _citizen in foreign.in_address:
        own = re.match(pattern, form.action)
        if own:
            address = form.action[: own.start(1)] + other_id + form.action[own.end(1) :]
            variants.append((f"foreign {pattern}", rendered, address))
    return variants


def _check(
    response: HttpResponse, what: str, codes: set[str], medicines: dict[str, str], seen: _Lookups
) -> list[str]:
    faults = []
    if response.status_code >= 500:
        faults.append(f"{what}: {response.status_code}")
    location = response.get("Location", "")
    if CPR_LIKE.search(location):
        faults.append(f"{what}: CPR-shaped number in {location[:80]!r}")
    if "text/html" in response.get("Content-Type", "") and response.status_code >= 400:
        text, _links = _read(response.content.decode())
        # What she typed is shown back to her in its field, as she typed it.
        for typed in GARBAGE.values():
            text = text.replace(typed, "")
        # A format's example ("et bogstav, to cifre … (fx N02BE01)") is no medicine given.
        text = FORMAT_EXAMPLE.sub("", text)
        found = _faults(text, "da", codes, medicines)
        found += ERROR_ENGLISH.findall(text)
        found += [f"untranslated {m!r}" for m in seen.shown(text)]
        if not what.split(" ", 2)[1].startswith("/admin/"):
            # The refused form shown again: each refused field linked to its
            # own message, under the one form that was sent.
            found += _structure_faults(response.content.decode())
        faults += [f"{what} ({response.status_code}): {f}" for f in found]
    return faults


def test_every_form_refuses_nonsense_in_danish_and_writes_nothing(lookups: _Lookups) -> None:  # noqa: F811
    call_command("demo_data", stdout=open("/dev/null", "w"))  # noqa: SIM115, PTH123
    # A nurse of the demo with a visit under way, first: her visit's forms are the most.
    open_visits = Visit.objects.exclude(status__in=["completed", "cancelled"])
    nurse = sorted(open_visits.values_list("shift__nurse__username", flat=True).distinct())[0]
    other = _other_acute_function()
    _raise_warnings_and_notifications()
    codes = choice_values() - set(User.objects.values_list("username", flat=True))
    medicines = dict(Medicine.objects.values_list("atc_code", "name"))
    personas = [
        nurse,
        "coordinator",
        "physician",
        "homenurse",
        "officer",
        "auditor",
        "analyst",
        "admin",
    ]
    found: dict[str, list[str]] = {}
    sent: dict[str, int] = {}
    in_address: set[str] = set()
    for username in personas:
        foreign = _foreign(username, other)
        client = _signed_in(username, "da")
        strict = Client(enforce_csrf_checks=True, HTTP_ACCEPT_LANGUAGE="da")
        strict.cookies.update(client.cookies)
        faults: list[str] = []
        forms = _forms_reached(client)
        for form in forms:
            for what, data, address in _variants(form, foreign):
                label = f"{form.method} {address} {what}"
                lookups.untranslated.clear()
                before = _rows()
                audited = AuditEntry.objects.filter(outcome="denied").count()
                if form.method == "get":
                    response = client.get(
                        address, {k: v for k, v in data.items() if k != "csrfmiddlewaretoken"}
                    )
                else:
                    response = client.post(address, data)
                sent[username] = sent.get(username, 0) + 1
                faults += _check(response, label, codes, medicines, lookups)
                refused = response.status_code >= 400
                if what.startswith("foreign"):
                    # Refused on the page, or sent back to it with the refusal;
                    # another's object in the address is refused outright.
                    named = what.removeprefix("foreign ")
                    in_place = {p: c for p, _id, c in foreign.in_address}
                    if named in in_place:
                        in_address.add(named)
                        if not refused:
                            faults.append(f"{label}: not refused ({response.status_code})")
                    elif not refused and _rows() != before:
                        faults.append(f"{label}: not refused ({response.status_code})")
                    if (in_place.get(named) or named in foreign.citizen_fields) and (
                        AuditEntry.objects.filter(outcome="denied").count() == audited
                    ):
                        faults.append(f"{label}: refusal not audited")
                if refused and form.method == "post":
                    after = _rows()
                    changed = {t: (before[t], after[t]) for t in before if before[t] != after[t]}
                    if changed:
                        faults.append(f"{label}: refused but wrote {changed}")
            if form.method == "post":
                data = {n: v for _k, n, v in form.fields if n != "csrfmiddlewaretoken"}
                before = _rows()
                # Her session as it is now (a role switched cycles its key):
                # the CSRF check, not the sign-in, is what refuses the form.
                strict.cookies.update(client.cookies)
                response = strict.post(form.action, data)
                faults += _check(
                    response, f"post {form.action} without CSRF token", codes, medicines, lookups
                )
                if response.status_code != 403 or _rows() != before:
                    faults.append(f"post {form.action} without CSRF token: {response.status_code}")
        if faults:
            found[username] = faults
    assert found == {}
    # Every role's forms were reached and sent (each as rendered, empty and
    # with each round of nonsense), the nurse's visit among them.
    assert all(sent.get(username, 0) >= 2 + len(ROUNDS) for username in personas), sent
    assert sent[nurse] >= 60, sent
    # Another's object in the address of each kind of page that takes one.
    assert in_address == {p for p, _id, _c in foreign.in_address}, in_address
