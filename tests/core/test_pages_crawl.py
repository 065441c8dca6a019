"""Every demo user walks every page she can reach, in Danish and with a
browser that asks for English, and each page is read as she reads it.

A page fails when it answers 500, when a link on it leads to a page she is
refused or that does not exist, when it shows a message the Danish catalogue
does not translate, a model's choice value or a code a person cannot read
(an NPU code, an ATC code without the medicine's name), or a time in UTC or
in ISO form where the Copenhagen time is due.
"""

from __future__ import annotations

import gettext as gettext_module
import re
from collections.abc import Callable, Iterator
from html.parser import HTMLParser

import pytest
from django.apps import apps
from django.conf import settings
from django.core.management import call_command
from django.test import Client
from django.utils.translation import trans_real

from acute.models import Visit
from core.demo import DEMO_PASSWORD, STAFF
from core.models import User
from medicine_cabinet.models import Lot, Medicine
from tests import factories
from tests.core.test_danish_pages import _raise_warnings_and_notifications

pytestmark = pytest.mark.django_db

LANGUAGES = ("da", "en")
# Enough pages of one kind (the same address with another id) to read each
# kind with demo data of its different states, few enough to stay quick.
PAGES_PER_KIND = 4
MAX_PAGES = 160
# Never followed: leaving, the language switch (a form), files and the
# machine doors, which keep their codes by design.
SKIP = ("/logout", "/i18n/", "/static/", "/api/", "/fhir/", "/metrics", "/healthz")

# Choice values that are also ordinary Danish words, so may stand on a Danish page.
DANISH_WORDS = {
    # The role's label too, lower-cased where a refusal lists the roles.
    "administrator",
    "bag",
    "delegation",
    "dose",
    "fatal",
    "form",
    "hospital",
    "lab",
    "note",
    "oral",
    "procedure",
    "sent",
}
# Attributes whose text a person reads (or hears, from a screen reader).
READ_ATTRIBUTES = ("title", "placeholder", "aria-label", "alt")
# Django writes its permissions' names in English into the database when it
# migrates ("Can add visit"); the administrator's permission lists are not read.
# Django's own yes/no icons in the admin's lists carry "True"/"False" as alt.
UNREAD_SELECTS = ("permissions", "user_permissions")
# django-otp's device pages keep its own English field help (no Danish catalogue).
UNREAD_PAGES = ("/admin/otp_totp/",)

NPU = re.compile(r"\b(?:NPU|DNK)\d{5}\b")
ATC = re.compile(r"\b[A-Z]\d\d[A-Z]{2}\d\d\b")
ISO_OR_UTC = re.compile(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d|\bUTC\b|[+-]00:?00\b|\d\d:\d\d(?::\d\d)?Z\b")
PYTHON_VALUES = re.compile(r"\b(?:None|True|False)\b")
PYTHON_BOOLEANS = re.compile(r"\b(?:True|False)\b")
ENGLISH_LABELS: set[str] = set()
PLACEHOLDER = re.compile(r"%\(\w+\)[sdfi]|%[sdfi]|\{\w*\}")


def choice_values() -> set[str]:
    """Every string value of every model's choices (what the database keeps,
    never what a person should read)."""
    values: set[str] = set()
    for model in apps.get_models():
        for field in model._meta.get_fields():
            for value, _label in getattr(field, "flatchoices", None) or []:
                if isinstance(value, str) and value.strip():
                    values.add(value)
    return values


def english_labels() -> set[str]:
    """The choices' labels kept in English in the models (FHIR codings carry
    them) that a Danish page must show in Danish instead."""
    danish = trans_real.translation("da")
    labels: set[str] = set()
    for model in apps.get_models():
        for field in model._meta.get_fields():
            for _value, label in getattr(field, "flatchoices", None) or []:
                if type(label) is str and " " in label and danish.gettext(label) != label:
                    labels.add(label)
    return labels


class _Page(HTMLParser):
    """The text a person reads on a page, and the page's own links."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.skip = 0
        self.parts: list[str] = []
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag in ("script", "style", "template") or (
            tag == "select" and attributes.get("name") in UNREAD_SELECTS
        ):
            self.skip += 1
        if self.skip:
            return
        if not (attributes.get("src") or "").startswith("/static/admin/img/icon-"):
            self.parts += [attributes[n] or "" for n in READ_ATTRIBUTES if n in attributes]
        if tag == "input" and attributes.get("type") in ("submit", "button"):
            self.parts.append(attributes.get("value") or "")
        href = attributes.get("href") or "" if tag == "a" else ""
        if href.startswith("/") and not href.startswith(SKIP):
            self.links.append(href.split("#")[0])

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "template", "select") and self.skip:
            self.skip -= 1

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.parts.append(data)


class _Structure(HTMLParser):
    """The ids of a page, what refers to them, and its first-level headings."""

    REFERS = ("for", "aria-describedby", "aria-labelledby", "aria-controls")

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: list[str] = []
        self.refs: list[tuple[str, str]] = []
        self.h1 = 0
        self.invalid_alone: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        if attributes.get("id"):
            self.ids.append(attributes["id"])
        for name in self.REFERS:
            if name == "for" and tag != "label":
                continue
            self.refs += [(name, ref) for ref in attributes.get(name, "").split()]
        self.h1 += tag == "h1"
        if attributes.get("aria-invalid") == "true" and not attributes.get("aria-describedby"):
            self.invalid_alone.append(attributes.get("name") or tag)


def _structure_faults(html: str) -> list[str]:
    """What a screen reader or the keyboard gets wrong on a page: an id used
    twice (a label or a field's error then names the wrong field), a label or
    aria reference to no element, a refused field not linked to its message,
    and not exactly one first-level heading."""
    page = _Structure()
    page.feed(html)
    twice = sorted({i for i in page.ids if page.ids.count(i) > 1})
    faults = [f"id {i!r} twice" for i in twice]
    faults += [f"{name}={ref!r} names nothing" for name, ref in page.refs if ref not in page.ids]
    faults += [f"refused {name!r} not linked to its message" for name in page.invalid_alone]
    if page.h1 != 1:
        faults.append(f"{page.h1} first-level headings")
    return faults


def _read(html: str) -> tuple[str, list[str]]:
    page = _Page()
    page.feed(html)
    return " ".join(" ".join(page.parts).split()), page.links


class _Lookups:
    """Every message the pages look up, and those the Danish catalogue lacks."""

    def __init__(self) -> None:
        self.danish = trans_real.translation("da")
        self.untranslated: set[str] = set()
        # The language switch names each language in its own tongue.
        self.own_names = {str(name) for _code, name in settings.LANGUAGES}

    def missing(self, key: str | tuple[str, int]) -> None:
        catalog = self.danish._catalog  # type: ignore[attr-defined]
        if catalog.get(key) is None:
            message = key[0] if isinstance(key, tuple) else key
            self.untranslated.add(message.split("\x04")[-1])

    def shown(self, text: str) -> list[str]:
        """The untranslated messages whose words stand on the page."""
        found = []
        for message in self.untranslated - self.own_names:
            fragments = [f.strip() for f in PLACEHOLDER.split(message)]
            fragments = [" ".join(f.split()) for f in fragments if len(f.strip()) >= 4]
            if fragments and all(f in text for f in fragments):
                found.append(message)
        return sorted(found)


@pytest.fixture
def lookups(monkeypatch: pytest.MonkeyPatch) -> Iterator[_Lookups]:
    """Records every gettext look-up made while the pages render, whichever
    language is active, against the Danish catalogue."""
    seen = _Lookups()
    gnu_gettext: Callable[..., str] = gettext_module.GNUTranslations.gettext
    gnu_ngettext: Callable[..., str] = gettext_module.GNUTranslations.ngettext

    def recording_gettext(self: trans_real.DjangoTranslation, message: str) -> str:
        seen.missing(message)
        return gnu_gettext(self, message)

    def recording_ngettext(
        self: trans_real.DjangoTranslation, singular: str, plural: str, n: int
    ) -> str:
        seen.missing((singular, 0))
        return gnu_ngettext(self, singular, plural, n)

    monkeypatch.setattr(trans_real.DjangoTranslation, "gettext", recording_gettext, raising=False)
    monkeypatch.setattr(trans_real.DjangoTranslation, "ngettext", recording_ngettext)
    yield seen


def _signed_in(username: str, language: str) -> Client:
    """A demo user through both login steps, her browser asking for ``language``."""
    client = Client(raise_request_exception=False, HTTP_ACCEPT_LANGUAGE=language)
    password = client.post("/login/", {"username": username, "password": DEMO_PASSWORD})
    assert password.status_code == 302, username
    if password["Location"].startswith("/login/code/"):
        user = User.objects.get(username=username)
        code = client.post("/login/code/", {"otp": factories.totp_code(user)})
        assert code.status_code == 302, username
    return client


def _kind(url: str) -> str:
    path, _, query = url.partition("?")
    keys = sorted(part.split("=")[0] for part in query.split("&") if part)
    return re.sub(r"[0-9a-f]{8}-[0-9a-f-]{27}|\d+", "#", path) + "?" + "&".join(keys)


def _around(text: str, word: str) -> str:
    match = re.search(rf"(?<![\w.-]){re.escape(word)}(?![\w-])", text)
    start = match.start() if match else 0
    return text[max(0, start - 40) : start + len(word) + 40]


def _faults(text: str, language: str, codes: set[str], medicines: dict[str, str]) -> list[str]:
    faults = []
    if language == "da":
        faults += [f"English {label!r}" for label in sorted(ENGLISH_LABELS) if label in text]
    # A unit (mg/L) is one word, its letters no flag.
    tokens = set(re.findall(r"[\w./-]*\w", text))
    if language == "da":
        shown_codes = codes & tokens - DANISH_WORDS
    else:
        # English prose may use the plain words; a code has a _ or a - or a digit.
        shown_codes = {c for c in codes & tokens if re.search(r"[_\d-]", c) or c.isupper()}
    faults += [f"value {c!r}: …{_around(text, c)}…" for c in sorted(shown_codes)]
    faults += [f"code {c!r}" for c in sorted(set(NPU.findall(text)))]
    faults += [
        f"ATC {atc!r} without its medicine"
        for atc in sorted(set(ATC.findall(text)))
        if medicines.get(atc, "\0").lower() not in text.lower()
    ]
    faults += [f"time {t!r}" for t in sorted(set(ISO_OR_UTC.findall(text)))]
    # "None of your patients …" is English; on a Danish page it is Python's.
    python_values = PYTHON_VALUES if language == "da" else PYTHON_BOOLEANS
    faults += [
        f"Python {v!r}: …{_around(text, v)}…" for v in sorted(set(python_values.findall(text)))
    ]
    return faults


def _walk(
    client: Client,
    language: str,
    lookups: _Lookups,
    codes: set[str],
    medicines: dict[str, str],
) -> tuple[set[str], dict[str, list[str]]]:
    queue: list[tuple[str, str]] = [("/", "/"), ("/help/", "/")]
    seen: set[str] = set()
    kinds: dict[str, int] = {}
    found: dict[str, list[str]] = {}
    while queue and len(seen) < MAX_PAGES:
        url, came_from = queue.pop(0)
        kind = _kind(url)
        if url in seen or kinds.get(kind, 0) >= PAGES_PER_KIND:
            continue
        kinds[kind] = kinds.get(kind, 0) + 1
        seen.add(url)
        lookups.untranslated.clear()
        response = client.get(url)
        if response.status_code == 302 and response["Location"].startswith("/login"):
            found[url] = [f"sent to log in again from {came_from}"]
            continue
        if response.status_code in (301, 302):
            queue.append((response["Location"], url))
            continue
        if response.status_code != 200:
            found[url] = [f"{response.status_code} from a link on {came_from}"]
            if response.status_code >= 500:
                continue
        content_type = response.get("Content-Type", "")
        if content_type.startswith("text/csv"):
            # The auditor's export for a spreadsheet: words and Copenhagen time too.
            # A spreadsheet reads "2026-12-05 14:38:00" as a time, so a space may
            # stand between date and time there; never a T, a Z or UTC.
            csv = response.content.decode("utf-8-sig")
            csv = re.sub(r"(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d)(?![Z+\d])", r"\1", csv)
            faults = _faults(csv, language, codes, medicines)
            if faults:
                found.setdefault(url, []).extend(faults)
            continue
        if "text/html" not in content_type:
            continue
        text, links = _read(response.content.decode())
        queue += [(link, url) for link in links if link not in seen]
        if url.startswith(UNREAD_PAGES):
            continue
        faults = _faults(text, language, codes, medicines)
        faults += [f"untranslated {m!r}" for m in lookups.shown(text)]
        if not url.startswith("/admin/"):
            # Django's admin keeps its own page structure.
            faults += _structure_faults(response.content.decode())
        if faults:
            found.setdefault(url, []).extend(faults)
    return seen, found


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_role_reads_every_page_it_reaches_in_words_and_local_time(
    language: str, lookups: _Lookups
) -> None:
    call_command("demo_data", stdout=open("/dev/null", "w"))  # noqa: SIM115, PTH123
    _raise_warnings_and_notifications()
    codes = choice_values()
    ENGLISH_LABELS.update(english_labels())
    assert "Next day" in ENGLISH_LABELS
    assert {"fatal-error", "coordinator", "within_2_hours", "en_route"} <= codes
    # The auditor reads a staff member's username beside her name, and some
    # demo usernames are spelled as role keys ("coordinator", "auditor").
    codes -= set(User.objects.values_list("username", flat=True))
    medicines = dict(Medicine.objects.values_list("atc_code", "name"))
    # A recalled lot, so that the recall's own page is read too; one a
    # citizen already received a dose from, if the demo gave any.
    lot = Lot.objects.filter(administrations__isnull=False).first() or Lot.objects.first()
    assert lot is not None
    recall = _signed_in("officer", language).post(
        "/cabinet/recall/", {"lot": lot.pk, "reason": "Leverandøren kalder partiet tilbage."}
    )
    assert recall.status_code == 302, recall.content.decode()[:500]
    # Two of the nurses the demo sent on visits, so that visit pages are read.
    nurses = Visit.objects.values_list("shift__nurse__username", flat=True).distinct()
    personas = [username for username, *_rest in STAFF] + sorted(nurses)[:2]
    found: dict[str, dict[str, list[str]]] = {}
    walked: dict[str, set[str]] = {}
    for username in personas:
        client = _signed_in(username, language)
        walked[username], faults = _walk(client, language, lookups, codes, medicines)
        if faults:
            found[username] = faults
    assert found == {}
    everything = set().union(*walked.values())
    kinds = {_kind(url) for url in everything}
    assert {
        "/nurse/visits/#/?",
        "/coordinator/referrals/#/?",
        "/cabinet/recall/#/?",
        "/audit/flagged?",
        "/consent/insight/?",
        "/analyses/?",
        "/physician/orders/?",
        "/referrals/new/?",
    } <= kinds, sorted(kinds)


ERROR_ENGLISH = re.compile(
    r"Not Found|Bad Request|Forbidden|Method Not Allowed|Server Error|CSRF verification"
    r"|Request Entity|URI Too Long|Too Large|Payload|Traceback"
)


@pytest.mark.parametrize("signed_in", [True, False], ids=["signed-in", "signed-out"])
def test_every_refusal_of_a_page_is_the_platforms_own_danish_page(
    signed_in: bool, lookups: _Lookups, settings: object
) -> None:
    """400, 403 (a form without its CSRF token), 404, 405, 413 and 414 on a
    page's address: the platform's page with its header, in Danish, never
    Django's or the web server's English one."""
    client = Client(raise_request_exception=False, HTTP_ACCEPT_LANGUAGE="da")
    strict = Client(enforce_csrf_checks=True, HTTP_ACCEPT_LANGUAGE="da")
    if signed_in:
        coordinator = factories.staff("coordinator", factories.acute_function())
        assert factories.log_in(client, coordinator).status_code == 302
        strict.cookies.update(client.cookies)
    answers = {
        400: client.get("/coordinator/", HTTP_HOST="no such host"),
        # Signed out, a role's page sends her to log in before the CSRF
        # check: the log-in form itself is refused without its token.
        403: strict.post("/coordinator/referrals/new/" if signed_in else "/login/", {"cpr": "x"}),
        404: client.get("/no-such-page/"),
        # Signed out, a role's page sends her to log in first, whatever the method.
        405: client.put("/coordinator/referrals/new/" if signed_in else "/login/"),
        413: client.post(
            "/coordinator/referrals/new/",
            "x" * (int(settings.DATA_UPLOAD_MAX_MEMORY_SIZE) + 1),  # type: ignore[attr-defined]
            content_type="application/x-www-form-urlencoded",
        ),
        414: client.get("/coordinator/?q=" + "x" * 5000),
    }
    found = {}
    for status, response in answers.items():
        html = response.content.decode()
        text, _links = _read(html)
        faults = []
        if response.status_code != status:
            faults.append(f"answered {response.status_code}")
        if "text/html" not in response.get("Content-Type", ""):
            faults.append(response.get("Content-Type", ""))
        if '<html lang="da"' not in html or 'class="brand"' not in html:
            faults.append("not the platform's page")
        faults += ERROR_ENGLISH.findall(text)
        faults += [f"untranslated {m!r}" for m in lookups.shown(text)]
        if faults:
            found[status] = faults
    assert found == {}
