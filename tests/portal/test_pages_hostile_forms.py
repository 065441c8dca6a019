"""Every page form that writes, held to hostile input as each role it admits.

The page routes that take a POST are those of the write inventory
(``tests/test_write_routes.py``: its check fails for a new one until it is
listed there, with a valid form and the role that sends it). Each is sent,
by that role, the valid form with one thing wrong: each field empty, left
out, 10 000 characters long, holding a NUL, a bidirectional override or
bytes that are no UTF-8; a number as ``1e400``, ``-1`` or ``NaN``; a date
as ``2026-02-30`` or ``10.61``; a time ten thousand years off; a choice
that is none of the options; an id of nothing or of another citizen's
object; every field twice; the form's reference sent again after it was
used; no CSRF token. Every other role sends it once, as it is.

Never a 500. A refusal is a page in Danish (a 4xx, or the form shown
again with its error) without a traceback or a code in its words; a form
sent back to another page as refused says so (its reference freed), never
as if saved. Nothing of the citizen's record, the acute function's work or
the cabinet's stock is written by a form that was wrong (what a write
leaves is read from PostgreSQL's own counts of the transaction's rows;
the audit log, sessions and form references excepted). Each request runs
in a savepoint rolled back after it, so every variant starts from the same
scene; each page is one test and each failure names the variant.
"""

from __future__ import annotations

import html
import re
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
from django.apps import apps
from django.db import connection, transaction
from django.test import Client

from core.models import IdempotencyKey
from core.permissions import session_membership_set
from tests.made_once import made_once
from tests.test_write_routes import (
    READING_PAGES,
    WRITES,
    Scene,
    Write,
    build_scene,
    declared_methods,
    page_routes,
)

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

PAGES = {
    route: write
    for (method, route), write in sorted(WRITES.items())
    if method == "POST" and write.kind == "form" and not write.url.startswith(("/api/", "/fhir"))
}
# What a request may leave behind whatever it was sent: its record (R9),
# the sign-in's, the session's and the form's reference.
LEFT_BEHIND = {"auditentry", "auditreview", "loginattempt", "idempotencykey", "user"}
WATCHED_APPS = ("core", "acute", "clinical", "consent", "medicine_cabinet", "integrations")
NOWHERE = "999999999"
LONG = "x" * 10_000
# Words that are no Danish a clinician reads: an exception, a traceback, an
# English refusal of Django's own forms.
NOT_DANISH = re.compile(
    r"Traceback|Exception|Error:|This field|Enter a valid|Select a valid|"
    r"is required|not a valid|invalid literal|could not convert|KeyError|ValueError"
)


def _watched_tables() -> set[str]:
    return {
        model._meta.db_table
        for model in apps.get_models()
        if model._meta.app_label in WATCHED_APPS
        and model._meta.model_name not in LEFT_BEHIND
        and not model._meta.model_name.startswith("audit")
    }


def _row_counts() -> dict[str, tuple[int, int, int]]:
    """Rows this transaction has inserted, updated and deleted, by table."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname, n_tup_ins, n_tup_upd, n_tup_del FROM pg_stat_xact_user_tables"
        )
        return {name: (ins, upd, dele) for name, ins, upd, dele in cursor.fetchall()}


def _contents(tables: list[str]) -> dict[str, str]:
    """A digest of every row of each table, as this transaction sees it."""
    if not tables:
        return {}
    quote = connection.ops.quote_name
    # The names are the models' own tables, quoted; none comes from a request.
    digest = "md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), ''))"
    sql = " UNION ALL ".join(
        f"SELECT %s, {digest} FROM {quote(table)} t"  # noqa: S608
        for table in tables
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, tables)
        return dict(cursor.fetchall())


class Watch:
    """The watched tables as the scene holds them. A table PostgreSQL counts
    rows of since ``before`` is read again: rows written in a savepoint a
    refusal rolled back are counted too, but are not there."""

    def __init__(self) -> None:
        self.tables = sorted(_watched_tables())
        self.held = _contents(self.tables)

    def written(self, before: dict[str, Any]) -> list[str]:
        after = _row_counts()
        touched = [t for t in self.tables if before.get(t) != after.get(t)]
        now = _contents(touched)
        return sorted(t for t in touched if now[t] != self.held[t])


def _client(scene: Scene, persona: str, *, csrf: bool = False) -> Client:
    client = Client(enforce_csrf_checks=csrf)
    if persona != "anonymous":
        member = scene.members[persona]
        client.force_login(member.user)
        session = client.session
        session_membership_set(session, member)
        session.save()
    return client


def _encoded(pairs: list[tuple[str, str | bytes]]) -> bytes:
    """A form body; a value given as bytes is sent as those bytes."""
    parts = []
    for name, value in pairs:
        if isinstance(value, bytes):
            parts.append(urlencode([(name, "")]) + "".join(f"%{b:02X}" for b in value))
        else:
            parts.append(urlencode([(name, value)], encoding="utf-8", errors="surrogatepass"))
    return "&".join(parts).encode("ascii")


def _looks(value: str) -> set[str]:
    kinds = set()
    if re.fullmatch(r"-?\d+([.,]\d+)?", value):
        kinds.add("number")
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        kinds.add("date")
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?", value):
        kinds.add("datetime")
    if re.fullmatch(r"\d{2}:\d{2}", value):
        kinds.add("time")
    if re.fullmatch(r"[a-z][a-z0-9_-]*", value) or re.fullmatch(r"[A-Z]{3}\d{2}[A-Z0-9]*", value):
        kinds.add("choice")
    return kinds


Variant = tuple[str, list[tuple[str, str | bytes]], bool]

# Fields a page is sent but does not read: what it holds comes from elsewhere
# (the medicine's own unit, the referrer's role, the organisation's name
# typed beside it), or it only says which page to go back to.
NOT_READ = {
    ("cabinet/receive/", "unit"),
    ("referrals/new/", "source"),
    ("nurse/visits/<id:visit_id>/order/", "ordered_by_organisation"),
    ("care-threads/<id:thread_id>/reply/", "on"),
}
# Free text as the physician says it (the API takes any text there too).
FREE_TEXT = {"dose_unit", "route", "frequency"}
# A ticked box: any value sent is a tick, as a browser sends it.
TICKS = {"accept", "confirm", "confirmation", "read_back", "read_back_confirmed"}
# Numbers a form takes below zero: a place west of Greenwich or south of the equator.
SIGNED = {"latitude", "longitude"}
ID_FIELDS = {"lot", "cabinet", "medicine", "location", "membership", "shift_id"}


def _variants(route: str, form: dict[str, str]) -> Iterator[Variant]:
    """(what it is, the fields, whether the form is wrong for certain)."""
    items = list(form.items())

    def but(name: str, value: str | bytes) -> list[tuple[str, str | bytes]]:
        return [(k, value if k == name else v) for k, v in items]

    for name, value in items:
        read = (route, name) not in NOT_READ and name not in TICKS | FREE_TEXT
        kinds = _looks(value) if read else set()
        yield f"{name} empty", but(name, ""), False
        yield f"{name} left out", [(k, v) for k, v in items if k != name], False
        yield f"{name} as NUL", but(name, "a\x00b"), True
        yield f"{name} as a bidi override", but(name, "\u202eevil"), True
        yield f"{name} as broken UTF-8", but(name, b"\xff\xfe"), True
        # Free text may be long (a clinical note); a number, date or choice may not.
        yield f"{name} 10 000 long", but(name, LONG), bool(kinds)
        if "number" in kinds:
            for text in ("1e400", "NaN"):
                yield f"{name} as {text}", but(name, text), True
            yield f"{name} as -1", but(name, "-1"), name not in SIGNED
            if name.endswith("id") or name in ID_FIELDS:
                yield f"{name} of nothing", but(name, NOWHERE), True
        if "date" in kinds:
            yield f"{name} as 2026-02-30", but(name, "2026-02-30"), True
            yield f"{name} as 10.61", but(name, "10.61"), True
            yield f"{name} in year 9999", but(name, "9999-12-31"), True
        if "datetime" in kinds:
            yield f"{name} in year 9999", but(name, "9999-12-31T23:59"), True
            yield f"{name} in year 1", but(name, "0001-01-01T00:00"), True
            yield f"{name} as 2026-02-30", but(name, "2026-02-30T10:00"), True
        if "time" in kinds:
            yield f"{name} as 25:61", but(name, "25:61"), True
        if "choice" in kinds and name != "client_ref":
            yield f"{name} not an option", but(name, "zz_none_of_these"), True
        if name == "stock":
            yield "stock of nothing", but(name, f"{NOWHERE}:{NOWHERE}"), True
    yield "every field twice", [p for k, v in items for p in ((k, "zz"), (k, v))], False


# Words of English a refusal would hold were it left untranslated.
ENGLISH = re.compile(
    r"\b(the|must|may not|is not|cannot|could not|field|please|invalid|required|"
    r"not found|not allowed|already|enter|select)\b",
    re.IGNORECASE,
)
_TOLD = re.compile(r'(?s)<(div|p)[^>]*(?:role="alert"|class="field-error")[^>]*>(.*?)</\1>')


def _text(markup: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", markup)).split())


def _told(answer: Any) -> list[str]:
    """What the answer tells its reader of the send: the page's alerts and
    fields' errors, and the messages it leaves for the page it sends her to."""
    told = []
    if answer.get("Content-Type", "").startswith("text/html"):
        told += [_text(m[1]) for m in _TOLD.finditer(answer.content.decode("utf-8", "replace"))]
    if answer.get("Content-Type", "").startswith("application/json"):
        told.append(str(answer.json().get("message", "")))  # the tablet's own calls
    queued = getattr(getattr(answer.wsgi_request, "_messages", None), "_queued_messages", [])
    told += [str(m.message) for m in queued]
    return told


def _problem(answer: Any) -> str | None:
    """What is wrong with a page's answer to a form, else None."""
    status = answer.status_code
    if status >= 500:
        return f"{status}"
    content = answer.content.decode("utf-8", "replace")
    if answer.get("Content-Type", "").startswith("text/html"):
        text = _text(re.sub(r"(?s)<(script|style).*?</\1>", "", content))
        shown = NOT_DANISH.search(text)
        if shown:
            around = text[max(0, shown.start() - 80) : shown.end() + 80]
            return f"{status} shows {shown[0]!r}: {around!r}"
        for code in re.findall(r'data-code="([^"]+)"', content):
            if code in text:
                return f"{status} shows its code {code!r}"
    for told in _told(answer):
        if ENGLISH.search(told) or re.search(r"\b[a-z]+(?:_[a-z]+)*\.[a-z_]+\b", told):
            return f"{status} tells {told[:200]!r}"
    if 400 <= status < 500 and status != 405 and not _told(answer) and "data-code" not in content:
        return f"{status} without a word of why"
    return None


def _send(client: Client, url: str, pairs: list[tuple[str, str | bytes]]) -> Any:
    return client.post(url, _encoded(pairs), content_type="application/x-www-form-urlencoded")


def _once(
    client: Client, url: str, pairs: list[tuple[str, str | bytes]], watch: Watch
) -> tuple[Any, list[str], bool]:
    """The answer, the tables written and whether the form's reference was
    kept as answered (a success): in a savepoint rolled back after it."""
    ref = uuid.uuid4().hex
    with transaction.atomic():
        before = _row_counts()
        answer = _send(client, url, [*pairs, ("form_ref", ref)])
        written = watch.written(before)
        kept = IdempotencyKey.objects.filter(key__endswith=f":{ref}").exists()
        transaction.set_rollback(True)
    return answer, written, kept


# Refused by the door before any view reads the form (core.boundary).
AT_THE_DOOR = ("as NUL", "as a bidi override", "as broken UTF-8")


def _door_refused(answer: Any) -> bool:
    if answer.status_code != 400:
        return False
    if answer.get("Content-Type", "").startswith("application/json"):
        return str(answer.json().get("code", "")).startswith("request.")
    return b'data-code="request.' in answer.content


def _admits(route: str, role: str) -> bool:
    callback = next(cb for r, cb in page_routes() if r == route)
    access = getattr(callback, "page_access", "staff")
    return access == "staff" or role in access


def _probe(scene: Scene, route: str, write: Write) -> list[str]:
    url = write.url.format(**scene.ids)
    valid = {k: str(v) for k, v in write.body(scene).items()}
    persona = write.persona
    client = _client(scene, persona)
    others = {
        other: _client(scene, other)
        for other in scene.members
        if other != persona and persona != "anonymous"
    }
    guarded = _client(scene, persona, csrf=True)
    watch = Watch()
    faults: list[str] = []

    def check(what: str, answer: Any, written: list[str], kept: bool, wrong: bool) -> None:
        problem = _problem(answer)
        if problem:
            faults.append(f"{what}: {problem}")
        if wrong and written:
            faults.append(f"{what}: {answer.status_code}, written to {written}")
        if wrong and not written and kept and 300 <= answer.status_code < 400:
            faults.append(f"{what}: sent on to {answer['Location']} as if saved")

    for what, pairs, wrong in _variants(route, valid):
        answer, written, kept = _once(client, url, pairs, watch)
        check(what, answer, written, kept, wrong)
        if what.endswith(AT_THE_DOOR) and not _door_refused(answer):
            faults.append(f"{what}: {answer.status_code}, not the door's refusal")
    # Every other role sends the form as it is: one the page does not admit,
    # or a nurse sending it about another nurse's visit, changes nothing.
    for other, other_client in others.items():
        role = scene.members[other].role
        wrong = not _admits(route, role) or (other == "outsider" and "<id:visit_id>" in route)
        check(f"as {other}", *_once(other_client, url, list(valid.items()), watch), wrong)
    # No CSRF token: refused before the view, nothing written.
    with transaction.atomic():
        before = _row_counts()
        answer = _send(guarded, url, list(valid.items()))
        written = watch.written(before)
        transaction.set_rollback(True)
    if answer.status_code != 403 or written or _problem(answer):
        faults.append(f"without a CSRF token: {answer.status_code}, {_problem(answer)}, {written}")
    # The same reference sent twice: the second writes nothing.
    if persona != "anonymous":
        ref = uuid.uuid4().hex
        with transaction.atomic():
            _send(client, url, [*valid.items(), ("form_ref", ref)])
            settled = Watch()
            before = _row_counts()
            answer = _send(client, url, [*valid.items(), ("form_ref", ref)])
            written = settled.written(before)
            transaction.set_rollback(True)
        problem = _problem(answer)
        if problem or written:
            faults.append(f"its reference sent again: {problem or answer.status_code}, {written}")
    return faults


@pytest.fixture(scope="module")
def scene(django_db_setup: Any, django_db_blocker: Any) -> Iterator[Scene]:
    """One scene for every page, rolled back after the last: each request
    runs in a savepoint of its own within it (``tests/made_once.py``)."""
    yield from made_once(django_db_blocker, build_scene)


@pytest.mark.parametrize("route", list(PAGES))
def test_a_hostile_form_is_refused_in_danish_and_nothing_written(scene: Scene, route: str) -> None:
    faults = _probe(scene, route, PAGES[route])
    assert faults == [], f"POST {route}:\n" + "\n".join(faults)


def test_every_page_form_is_probed() -> None:
    """Every page route that takes a POST is among the probed: a new form is
    probed the day it is added to the write inventory, which it must be."""
    posting = set()
    for route, callback in page_routes():
        methods = declared_methods(callback)
        takes_post = route not in READING_PAGES if methods is None else "POST" in methods
        if takes_post and not route.startswith(("api/", "fhir")):
            posting.add(route)
    assert sorted(posting - set(PAGES)) == []
    assert len(PAGES) > 40
