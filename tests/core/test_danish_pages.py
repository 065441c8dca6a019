"""Every page speaks Danish: no English interface words, no raw codes.

Each demo user signs in and walks the pages her menu and pages link to; the
visible text must hold none of the models' raw choice values (``next_day``,
``treated_at_home`` …) and none of the English words that used to leak
through. The Danish catalogue must translate every message it holds.
"""

from __future__ import annotations

import datetime as dt
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.apps import apps
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from acute.models import DeadlineWarning, Visit
from acute.services import deadline_watch
from core.demo import DEMO_PASSWORD
from core.models import Organisation, User
from medicine_cabinet.models import Notification
from medicine_cabinet.services import count_watch_overdue, stock_watch_expiry, stock_watch_low
from tests import factories

pytestmark = pytest.mark.django_db

PO_FILE = Path(__file__).resolve().parents[2] / "locale" / "da" / "LC_MESSAGES" / "django.po"

PERSONAS = ["coordinator", "nurse1", "physician", "homenurse", "officer", "auditor", "analyst"]

# English words that showed on Danish pages before.
ENGLISH = [
    "Not done",
    "The value must",
    "Bag of",
    "Cel",
    "CarePlan",
    "Encounter",
    "Bundle",
    "ServiceRequest",
    "R7/R8",
    "værdispring",
    "diagnosis, service",  # an analysis's parameters by their code names
    # The officer's notifications, once kept in English with the dosage form.
    "solution for injection",
    "usable",
    "is due for a count",
    "expires",
    "gave up",
]

# Choice values that are also Danish words or names, so may stand on a page.
DANISH_WORDS = {"analyse", "oral", "admin", "audit"}

MAX_PAGES_PER_PERSONA = 25
PAGES_PER_KIND = 3


def raw_choice_values() -> set[str]:
    """Every model choice value that is a code (snake_case or an English word),
    not the label a person should read."""
    values: set[str] = set()
    for model in apps.get_models():
        for field in model._meta.get_fields():
            for value, _label in getattr(field, "flatchoices", None) or []:
                if isinstance(value, str) and re.fullmatch(r"[a-z]+(_[a-z0-9]+)+", value):
                    values.add(value)
    return values - DANISH_WORDS


class _VisibleText(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.skip = 0
        self.parts: list[str] = []
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style", "template"):
            self.skip += 1
        if tag == "a":
            href = dict(attrs).get("href") or ""
            if href.startswith("/") and not href.startswith(("/static/", "/logout", "/i18n/")):
                self.links.append(href.split("#")[0])

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "template") and self.skip:
            self.skip -= 1

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.parts.append(data)


def _read(html: str) -> tuple[str, list[str]]:
    parser = _VisibleText()
    parser.feed(html)
    return " ".join(" ".join(parser.parts).split()), parser.links


def _signed_in(username: str) -> Client:
    """A demo user through both login steps: the password, then the code of
    her TOTP app (without it every page would only redirect to the login)."""
    client = Client()
    password = client.post("/login/", {"username": username, "password": DEMO_PASSWORD})
    assert password.status_code == 302, username
    user = User.objects.get(username=username)
    if password["Location"].startswith("/login/code/"):
        code = client.post("/login/code/", {"otp": factories.totp_code(user)})
        assert code.status_code == 302, username
    assert client.get("/").status_code == 200, username
    return client


def test_the_danish_catalogue_translates_every_message() -> None:
    text = PO_FILE.read_text(encoding="utf-8")
    blocks = [
        b
        for b in text.split("\n\n")
        if "msgid " in b and not b.startswith('msgid ""\nmsgstr ""\n"')
    ]
    untranslated = []
    for block in blocks:
        if block.lstrip().startswith("#~"):
            continue
        msgid = re.search(r'^msgid "(.*)"', block, re.M)
        strings = re.findall(r'^msgstr(?:\[\d\])? "(.*)"((?:\n".*")*)', block, re.M)
        if (
            msgid
            and msgid.group(1)
            and any(not (s + rest).replace('"', "").strip() for s, rest in strings)
        ):
            untranslated.append(msgid.group(1))
    assert untranslated == []


def _raise_warnings_and_notifications() -> None:
    """What the watch jobs raise a day on, so that the board's deadline
    warnings and the officer's notifications are read too."""
    later = timezone.now() + dt.timedelta(days=1)
    deadline_watch(now=later)
    for organisation in Organisation.objects.filter(kind=Organisation.Kind.ACUTE_FUNCTION):
        stock_watch_low(organisation=organisation)
        stock_watch_expiry(
            organisation=organisation, today=timezone.localdate() + dt.timedelta(days=300)
        )
        count_watch_overdue(organisation=organisation, now=later + dt.timedelta(days=30))


def test_no_page_shows_english_words_or_raw_codes() -> None:
    call_command("demo_data", stdout=open("/dev/null", "w"))  # noqa: SIM115, PTH123
    _raise_warnings_and_notifications()
    assert Notification.objects.exists() and DeadlineWarning.objects.exists()
    codes = raw_choice_values()
    assert {"next_day", "treated_at_home", "within_2_hours"} <= codes
    found: dict[str, list[str]] = {}
    # The nurse the demo's first visit went to, so that a visit page is read too.
    visit = Visit.objects.select_related("shift__nurse").first()
    assert visit is not None
    personas = [visit.shift.nurse.username, *(p for p in PERSONAS if p != "nurse1")]
    walked: set[str] = set()
    for username in personas:
        client = _signed_in(username)
        queue, seen = ["/"], set()
        kinds: dict[str, int] = {}
        while queue and len(seen) < MAX_PAGES_PER_PERSONA:
            url = queue.pop(0)
            # A few of each kind (entries, referrals …), so that every kind of page is reached.
            kind = re.sub(r"\d+", "#", url.split("?")[0])
            if url in seen or kinds.get(kind, 0) >= PAGES_PER_KIND:
                continue
            kinds[kind] = kinds.get(kind, 0) + 1
            seen.add(url)
            response = client.get(url, HTTP_ACCEPT_LANGUAGE="da")
            if response.status_code != 200 or "text/html" not in response.get("Content-Type", ""):
                continue
            text, links = _read(response.content.decode())
            queue.extend(link for link in links if link not in seen)
            words = set(re.findall(r"[a-z0-9_]+", text))
            leaks = sorted(codes & words) + [w for w in ENGLISH if w in text]
            leaks += re.findall(r"\(R\d+\)", text)  # the platform's rule numbers are not for users
            leaks += re.findall(r"\b[a-z]+_[a-z0-9_]+\b", text)  # any snake_case code
            leaks += re.findall(r"\d{4}-\d\d-\d\dT\d\d|\bUTC\b", text)  # ISO or UTC times
            if leaks:
                found[f"{username} {url}"] = leaks
        assert len(seen) > 2, f"{username} reached no page beyond the start"
        walked |= seen
    assert found == {}
    assert {f"/nurse/visits/{visit.pk}/", "/analyses/", "/audit/flagged", "/help/"} <= walked
    assert {"/audit/verify", "/consent/insight/", "/cabinet/counts/"} <= walked


def _leaks(html: str, codes: set[str]) -> list[str]:
    text, _links = _read(html)
    words = set(re.findall(r"[a-z0-9_]+", text))
    return sorted(codes & words) + [w for w in ENGLISH if w in text] + re.findall(r"\(R\d+\)", text)


def test_answers_to_the_auditors_and_analysts_forms_speak_danish() -> None:
    """What a POST answers (the auditor's search by name, an analysis with its
    hidden counts, a refused field) and every role's help page."""
    call_command("demo_data", stdout=open("/dev/null", "w"))  # noqa: SIM115, PTH123
    codes = raw_choice_values()
    answers: dict[str, str] = {}
    for username in PERSONAS:
        client = _signed_in(username)
        help_page = client.get("/help/", HTTP_ACCEPT_LANGUAGE="da")
        assert help_page.status_code == 200, username
        answers[f"{username} /help/"] = help_page.content.decode()
        if username == "auditor":
            for body in ({"name": "a"}, {"name": "se"}, {"cpr": "0101"}, {"username": "x"}):
                answers[f"auditor {body}"] = client.post(
                    "/audit/", body, HTTP_ACCEPT_LANGUAGE="da"
                ).content.decode()
        if username == "analyst":
            for body in (
                {"analysis": "diagnosis-and-service", "diagnosis": "I10", "service": "home-help"},
                {"analysis": "diagnosis-and-service", "diagnosis": "F20", "service": "x"},
                {"analysis": "contacts-around-acute-episode", "days": "30"},
            ):
                # An answer is shown on its own page, where the run sends her.
                answers[f"analyst {body}"] = client.post(
                    "/analyses/run", body, HTTP_ACCEPT_LANGUAGE="da", follow=True
                ).content.decode()
    found = {key: leaks for key, html in answers.items() if (leaks := _leaks(html, codes))}
    assert found == {}
    assert (
        "skjult" in answers["analyst {'analysis': 'contacts-around-acute-episode', 'days': '30'}"]
    )
