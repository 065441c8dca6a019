"""Input checked once, at the door, for every route.

Whatever a client sends — a JSON body on ``/api/`` or ``/fhir/``, a signed
message, a form post or a query string — passes the same checks before any
view, serializer, FHIR model or database sees it:

- a body is at most as long as its door takes (:func:`body_limit`:
  ``REQUEST_MAX_API_BYTES`` on ``/api/``, ``REQUEST_MAX_JSON_BYTES`` on
  ``/fhir/`` and the partners' ``$process-message``), refused with 413
  ``request.too_large`` before it is read, whether it says its length or is
  sent in chunks (:class:`BodySizeMiddleware`); a URL is at most
  :data:`MAX_URL_BYTES`, refused with 414 ``request.uri_too_long`` (gunicorn
  itself reads request lines up to twice that, ``config/gunicorn.py``, so
  the refusal is the platform's own, in its envelope or OperationOutcome);
- a body comes uncompressed: one sent with a ``Content-Encoding`` (gzip,
  deflate, br …) is refused with 415 ``request.content_encoding_unsupported``
  and ``Accept-Encoding: identity`` (RFC 9110 §15.5.16), never read as if
  its compressed bytes were the JSON (:class:`BodySizeMiddleware`);
- a JSON body is UTF-8 without a byte order mark, has no key twice in one
  object (FHIR's JSON forbids it; elsewhere the last one would silently win)
  and nests at most ``MAX_JSON_DEPTH`` levels (deeper input exhausts the
  recursion of the code that walks it);
- text holds no NUL character (PostgreSQL refuses it in text columns), no
  lone UTF-16 surrogate (it cannot be encoded as UTF-8), and no character
  that shows nothing yet changes what a reader sees: a control character
  other than TAB, LF and CR, a bidirectional override or isolate, a
  zero-width space or another hidden format character
  (:func:`core.validation.unshown_character`), in a key or a value;
- a form post's fields, their escapes undone, are UTF-8: Django would read
  other bytes as U+FFFD and the view keep text nobody typed (refused with
  ``request.form_unreadable``); so is a query string, on every door (refused
  with ``request.query_not_utf8``: ``?name=%FF`` would be searched for as a
  name of U+FFFD);
- numbers are finite: no ``NaN`` or ``Infinity``, nothing beyond a double
  (``1e400``);
- a URL holds nothing shaped like a CPR number
  (``docs/decisions/0002-cpr-never-in-a-url.md``): not its path, on every
  door, nor its query string outside ``/fhir/`` (:func:`cpr_in_url`, refused
  by ``core.cpr_in_url.CprInUrlMiddleware`` before anyone is signed in or
  sent anywhere; ``/fhir/`` refuses a query string in its base view, where
  its Patient search says to search by POST).

Each refusal is an :class:`~core.errors.InvalidInput` with a stable code, so the
one exception handler answers 400 with the envelope on ``/api/`` and an
OperationOutcome on ``/fhir/``. A known caller's refused request is an
attempt on the citizen it names and is recorded there with that code (R9):
a query or form before any view (``core.input_refusals``), a body as it is
read (``core.refusals.handle_exception``, from the body kept by
:func:`body_load`).

One module, a little longer than most: it is the one list above, each check
written once beside the others, so that no door takes what another refuses.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import unquote_to_bytes

import orjson
from django.conf import settings
from django.core.exceptions import BadRequest, TooManyFieldsSent, TooManyFilesSent
from django.core.handlers.wsgi import LimitedStream, WSGIRequest
from django.http import HttpRequest, HttpResponse, QueryDict
from django.http.multipartparser import MultiPartParserError
from django.utils.translation import gettext_lazy
from rest_framework import exceptions as drf
from rest_framework.parsers import BaseParser

from core.cpr import cpr_in_text
from core.errors import InvalidInput, NotSupported, TooLarge, UriTooLong, shown
from core.exception_handler import is_fhir_path, refusal_answer
from core.validation import UNSHOWN_CODES, unshown_character, unshown_refusal

# FHIR resources nest about a dozen levels (a transaction Bundle of resources
# with contained resources and extensions on extensions stays under 30).
MAX_JSON_DEPTH = 64


def _bad_text(value: str) -> tuple[str, str] | None:
    """What is wrong with a piece of text, as a refusal code and the
    character at fault (``U+202E``, or ``""``), or None."""
    if "\x00" in value:
        return "request.nul_character", ""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "request.invalid_text", ""
    return unshown_character(value)


def _refuse_text(problem: tuple[str, str], where: str) -> InvalidInput:
    code, character = problem
    if code == "request.nul_character":
        return InvalidInput(
            "request.nul_character",
            f"Text may not contain a NUL character ({where}).",
            field=where or None,
            params={"where": where},
        )
    if code == "request.invalid_text":
        return InvalidInput(
            "request.invalid_text",
            f"Text must be valid Unicode; a lone surrogate was found ({where}).",
            field=where or None,
            params={"where": where},
        )
    return unshown_refusal(code, character, where)


def _path(parts: Iterable[str | int]) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def _texts_within_depth(data: Any) -> tuple[list[str], int] | None:
    """Every key and text in parsed JSON, and how many keys its objects hold;
    None when it nests deeper than :data:`MAX_JSON_DEPTH` (or holds what
    JSON cannot: a key not text)."""
    texts: list[str] = []
    keys = 0
    stack: list[tuple[Any, int]] = [(data, 1)]
    pop, push, add = stack.pop, stack.append, texts.append
    while stack:
        value, depth = pop()
        if isinstance(value, dict):
            items: Iterable[Any] = value.values()
            keys += len(value)
            for key in value:
                if not isinstance(key, str):
                    return None
                add(key)
        elif isinstance(value, list):
            items = value
        else:
            continue
        if depth > MAX_JSON_DEPTH:
            return None
        for item in items:
            if isinstance(item, str):
                add(item)
            elif isinstance(item, dict | list):
                push((item, depth + 1))
    if isinstance(data, str):
        texts.append(data)
    return texts, keys


# Printable ASCII and TAB, LF and CR: what most of a body is, and nothing a
# rule on text refuses.
_PLAIN_ASCII = bytes([9, 10, 13, *range(0x20, 0x7F)])


def _all_shown(text: str) -> bool:
    """Whether ``text`` surely keeps every rule of :func:`_bad_text`: its
    characters other than plain ASCII (few in a body), read by the rule
    itself. Left out, plain ASCII joins the rest into sequences the text
    did not hold; only a flag's tag sequence could be made whole so, and a
    text with a cancel tag is read in full instead."""
    try:
        encoded = text.encode("utf-8")
    except UnicodeEncodeError:
        return False  # a lone surrogate
    # UTF-8 never uses an ASCII byte inside a longer character.
    rest = encoded.translate(None, _PLAIN_ASCII).decode("utf-8")
    return "\U000e007f" not in rest and _bad_text(rest) is None


def check_json_value(data: Any) -> None:
    """Walk parsed JSON without recursion: depth, and text (NUL, surrogates,
    characters that show nothing, :func:`core.validation.unshown_character`).

    Nearly every body keeps every rule, so its texts are first checked
    together, joined by a line feed (which no rule refuses, and across which
    no refused sequence reaches): one search instead of one a text. Only
    when that finds something is the body walked text by text, for the
    first text at fault and its place."""
    _checked_keys(data)


def _checked_keys(data: Any) -> int | None:
    """:func:`check_json_value`; how many keys the objects hold, when the
    texts were checked together (None when they were walked one by one)."""
    found = _texts_within_depth(data)
    if found is not None and _all_shown("\n".join(found[0])):
        return found[1]
    stack: list[tuple[Any, int, tuple[str | int, ...]]] = [(data, 1, ())]
    while stack:
        value, depth, where = stack.pop()
        if isinstance(value, dict | list):
            if depth > MAX_JSON_DEPTH:
                raise InvalidInput(
                    "request.too_deep",
                    f"JSON may nest at most {MAX_JSON_DEPTH} levels.",
                    params={"depth": MAX_JSON_DEPTH},
                )
            if isinstance(value, dict):
                for key, item in value.items():
                    problem = _bad_text(key)
                    if problem:
                        raise _refuse_text(problem, _path(where))
                    stack.append((item, depth + 1, (*where, key)))
            else:
                stack.extend((item, depth + 1, (*where, i)) for i, item in enumerate(value))
        elif isinstance(value, str):
            problem = _bad_text(value)
            if problem:
                raise _refuse_text(problem, _path(where))
    return None


# The longest URL (path and query string, as sent) the platform reads: a
# search longer than this goes in the body of a POST (FHIR's _search).
MAX_URL_BYTES = 4096


def too_large(limit: int) -> TooLarge:
    return TooLarge(
        "request.too_large",
        f"A JSON body may be at most {limit} bytes.",
        params={"limit": limit},
    )


_UTF8_BOM = b"\xef\xbb\xbf"
_NON_FINITE = ("NaN", "Infinity", "-Infinity")


def _encoding_refusal(raw: bytes) -> InvalidInput | None:
    """A body in another encoding than UTF-8 (RFC 8259 §8.1), told as such:
    a byte order mark, or UTF-16/32 (a NUL byte among the first four, where
    JSON's first two characters are ASCII)."""
    if raw.startswith(_UTF8_BOM):
        return InvalidInput(
            "request.byte_order_mark",
            "The request body starts with a byte order mark; send UTF-8 without it.",
        )
    if raw[:2] in (b"\xff\xfe", b"\xfe\xff") or b"\x00" in raw[:4]:
        return InvalidInput(
            "request.not_utf8", "The request body is not UTF-8 (UTF-16 or UTF-32 was sent)."
        )
    return None


# A key's closing quote with white space before its colon.
_SPACED_COLON = re.compile(rb'"[ \t\r\n]+:')


def _keys_given_once(raw: bytes, keys: int | None) -> bool:
    """Whether no object of the body gives a key twice, told without reading
    it again, for nearly every body: ``keys`` is how many keys the parsed
    objects hold (orjson keeps one of a key given twice). Where no key's
    quote is spaced from its colon, each key of the body ends in ``":``,
    and so may an escaped quote in a text (``\\":``): the body holds no more
    keys than it holds ``":``, and no fewer than ``keys``. The same count,
    then, is no key given twice. Otherwise (a spaced colon, a count that
    differs) the body is read again, pair by pair, for the key."""
    return keys is not None and _SPACED_COLON.search(raw) is None and raw.count(b'":') == keys


def _refuse_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    data = dict(pairs)
    if len(data) != len(pairs):
        seen: set[str] = set()
        key = next(k for k, _ in pairs if k in seen or seen.add(k))  # type: ignore[func-returns-value]
        raise InvalidInput(
            "request.duplicate_key",
            f'The key "{shown(key)}" appears more than once in one JSON object.',
            params={"key": shown(key)},
        )
    return data


def json_load(raw: bytes) -> Any:
    """Parse a JSON request body, refusing what no route can use."""
    limit = settings.REQUEST_MAX_JSON_BYTES
    if len(raw) > limit:
        raise too_large(limit)
    refusal = _encoding_refusal(raw)
    if refusal is not None:
        raise refusal
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        reason = str(exc.msg)
        if "depth" in reason or "recursion" in reason:
            raise InvalidInput(
                "request.too_deep",
                f"JSON may nest at most {MAX_JSON_DEPTH} levels.",
                params={"depth": MAX_JSON_DEPTH},
            ) from None
        if "UTF-8" in reason or "utf-8" in reason:
            # The bytes themselves (orjson names surrogates encoded as UTF-8 too).
            raise InvalidInput("request.not_utf8", "The request body is not UTF-8.") from None
        if "surrogate" in reason:
            raise InvalidInput(
                "request.invalid_text", "Text must be valid Unicode; a lone surrogate was found."
            ) from None
        if "infinity" in reason:
            raise InvalidInput(
                "request.number_out_of_range", "A number in the body is too large."
            ) from None
        if str(exc.doc)[exc.pos :].startswith(_NON_FINITE):
            raise InvalidInput(
                "request.number_not_finite",
                "JSON has no NaN or Infinity; send a number or leave the field out.",
            ) from None
        raise InvalidInput(
            "request.malformed",
            f"The request body is not valid JSON (line {exc.lineno}, column {exc.colno}).",
            params={"line": exc.lineno, "column": exc.colno},
        ) from None
    keys = _checked_keys(data)
    if b"{" in raw and not _keys_given_once(raw, keys):
        # orjson keeps the last of a key given twice; the standard library
        # tells each object's pairs, so a second pass finds the twice-given
        # key (the nesting is bounded by now, so its recursion is safe).
        try:
            json.loads(raw, object_pairs_hook=_refuse_duplicate_keys)
        except ValueError:
            raise InvalidInput(
                "request.number_out_of_range", "A number in the body is too large."
            ) from None
    return data


def json_object_required(data: Any) -> None:
    """Refuse a body that is JSON but not an object (an array, a string, a
    number, ``null``): every write of the API takes an object, or nothing."""
    if not isinstance(data, dict):
        raise InvalidInput("request.not_an_object", "The request body must be a JSON object.")


# --- forms and query strings ---------------------------------------------------

_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def text_refusal(request: HttpRequest) -> InvalidInput | None:
    """The refusal of a query string or form post carrying NUL, broken text
    or a character that shows nothing (:func:`core.validation.unshown_character`),
    or None. Asked before any view reads either
    (``core.input_refusals.InputBoundaryMiddleware``)."""
    if _broken_utf8(_query_bytes(request)):
        return InvalidInput("request.query_not_utf8", QUERY_NOT_UTF8)
    try:
        bad = _first_bad_field(request)
    except FormUnreadable:
        return InvalidInput("request.form_unreadable", FORM_UNREADABLE)
    return None if bad is None else _refuse_text(*bad)


FORM_UNREADABLE = (
    "The form in the body cannot be read: send it as application/x-www-form-urlencoded"
    " in UTF-8, or as multipart/form-data with its boundary. Nothing was searched or written."
)


QUERY_NOT_UTF8 = (
    "The address's query string holds bytes that are not UTF-8 once its escapes are undone;"
    " send each parameter's text in UTF-8. Nothing was searched or written."
)


def _query_bytes(request: HttpRequest) -> bytes:
    """The query string as it was sent. WSGI hands it over as text read as
    ISO-8859-1, so each of its characters is one byte of the original."""
    return str(request.META.get("QUERY_STRING", "")).encode("iso-8859-1", "replace")


class FormUnreadable(Exception):
    """A form post whose body cannot be read as the form it says it is."""


def _form(request: HttpRequest) -> Any:
    """The fields of a form post, or :class:`FormUnreadable`. Django reads a
    multipart body with no boundary, a form in another charset than UTF-8 or
    one with more fields than it takes as an error, and one whose parts are
    broken (no closing boundary) as no fields at all; either way the view
    would see an empty form, and a search (``POST [type]/_search``) would
    answer as if nothing had narrowed it."""
    try:
        fields = request.POST
    except (MultiPartParserError, BadRequest, TooManyFieldsSent, TooManyFilesSent):
        raise FormUnreadable() from None
    if request.content_type == "application/x-www-form-urlencoded" and _broken_utf8(request.body):
        raise FormUnreadable()
    if request.content_type == "multipart/form-data" and request.body:
        params = request.content_params or {}
        boundary = params.get("boundary", "").encode("ascii", "replace")
        # RFC 2046 5.1.1: a multipart body ends with its close delimiter.
        if not boundary or b"--" + boundary + b"--" not in request.body:
            raise FormUnreadable()
    return fields


def _broken_utf8(body: bytes) -> bool:
    """Whether a form's body (or a query string, written alike), its escapes
    undone, is no UTF-8. Django reads
    such bytes as replacement characters (U+FFFD), so the view would see,
    and keep, text the sender never wrote."""
    for pair in body.split(b"&"):
        try:
            unquote_to_bytes(pair.replace(b"+", b" ")).decode("utf-8")
        except UnicodeDecodeError:
            return True
    return False


def _first_bad_field(request: HttpRequest) -> tuple[tuple[str, str], str] | None:
    sources = [request.GET]
    if request.method == "POST" and request.content_type in _FORM_TYPES:
        # The body is read whole first, so the view can read it again: a
        # multipart stream parsed here would otherwise reach REST framework
        # spent, and a view that takes only JSON would see an empty body (and
        # act on it) instead of refusing the media type.
        request.body  # noqa: B018
        sources.append(_form(request))
    for source in sources:
        for key, values in source.lists():
            for text in (key, *values):
                problem = _bad_text(text)
                if problem:
                    # The field's name only if the name itself is clean.
                    return problem, key if _bad_text(key) is None else ""
    return None


# The public transparency log's tree sizes and entry numbers are counters
# that reach ten digits, and so are the audit log's entry ids on the
# auditor's pages, her API and FHIR's AuditEvent: none holds citizen data.
# In a path, only an id in an id's form (no leading zero) on a route that
# takes one: any path under the log let ``…/entries/0101801234/inclusion``
# (and ``/api/audit/log/<cpr>``) through, into the request log and the entry.
CPR_IN_QUERY_ALLOWED = ("/api/audit/log/",)
# The auditor's searches (her API and pages) page with ``as_of``, an entry's
# id; in an id's form it is no CPR number, as the id in the path is none.
CPR_IN_QUERY_COUNTERS = (("/api/audit/", "as_of"), ("/audit/", "as_of"))
_COUNTER_ID = re.compile(r"[1-9][0-9]*")
CPR_IN_PATH_ALLOWED = re.compile(
    r"/api/audit/log/entries/[1-9][0-9]*/inclusion"
    r"|/api/audit/entries/[1-9][0-9]*(?:/review)?"
    r"|/audit/entries/[1-9][0-9]*(?:/review)?"
    r"|/fhir/AuditEvent/[1-9][0-9]*(?:/_history/[0-9]+)?",
    re.DOTALL,
)
# Lazy: the page is written in the request's language, chosen later.
CPR_IN_ADDRESS = gettext_lazy(
    "A CPR number is never put in a page's address. Type it in the form's field instead."
)


def cpr_in_path(path: str) -> bool:
    """Whether a request's path (as Django decoded it) holds something shaped
    like a CPR number, outside the paths whose digits are counters and the
    static files, whose names carry a content hash (``app.1234567ab9cd.css``
    is not a citizen's number, and a page must never lose its style to it)."""
    if path.startswith("/" + settings.STATIC_URL.lstrip("/")):
        return False
    return cpr_in_text(path) and not CPR_IN_PATH_ALLOWED.fullmatch(path)


def cpr_in_url(request: HttpRequest) -> InvalidInput | None:
    """The refusal of a URL carrying something shaped like a CPR number, or
    None: in its path, on every door (a page, ``/api/``, any ``/fhir/``
    type), or in its query string outside ``/fhir/`` (whose base view
    refuses that itself, where the Patient search says how to search by
    POST). Asked before anyone is signed in or sent anywhere: an address
    typed by hand is never answered with a redirect to the login page that
    carries the number in ``next``."""
    if cpr_in_path(request.path):
        return InvalidInput(
            "request.cpr_in_url", "A CPR number never goes in a URL; send it in the request body."
        )
    if is_fhir_path(request.path) or request.path.startswith(CPR_IN_QUERY_ALLOWED):
        return None
    return cpr_in_query(_without_counter_ids(request.path, request.GET))


def _without_counter_ids(path: str, query: QueryDict) -> QueryDict:
    """``query`` less the values of the path's counter parameters
    (:data:`CPR_IN_QUERY_COUNTERS`) written as ids are (no leading zero)."""
    counters = {name for prefix, name in CPR_IN_QUERY_COUNTERS if path.startswith(prefix)}
    return query_without(query, counters, lambda _name, value: bool(_COUNTER_ID.fullmatch(value)))


def query_without(
    query: QueryDict, names: Iterable[str], dropped: Callable[[str, str], bool]
) -> QueryDict:
    """``query`` less the values of ``names`` that ``dropped(name, value)``
    picks: the counter ids a look for a CPR number in a URL passes over."""
    names = set(names)
    if not names.intersection(query):
        return query
    kept = QueryDict(mutable=True)
    for name, values in query.lists():
        kept.setlist(name, [v for v in values if not (name in names and dropped(name, v))])
    return kept


def cpr_in_query(query: QueryDict) -> InvalidInput | None:
    """The refusal of a query string carrying something shaped like a CPR
    number, or None. It names the parameter unless its name is the number;
    the number itself is never echoed."""
    for key, values in query.lists():
        if cpr_in_text(key) or any(cpr_in_text(value) for value in values):
            return InvalidInput(
                "request.cpr_in_url",
                "A CPR number never goes in a URL; send it in the request body.",
                field=None if cpr_in_text(key) else key,
            )
    return None


def cpr_in_url_response(request: HttpRequest, error: InvalidInput) -> HttpResponse:
    """The answer to a URL carrying a CPR number: 400 in the shape of its door,
    on a page the short sentence saying where the number goes."""
    return refusal_answer(request, 400, error, page_message=CPR_IN_ADDRESS)


UNSHOWN_IN_FORM = gettext_lazy(
    "The form contained a character that is not shown or that changes the direction"
    " of the text (often copied along from another program). Remove it and try again."
)


BROKEN_ADDRESS = gettext_lazy(
    "The page's address holds broken text (characters that are not UTF-8), so nothing"
    " was searched or shown. Go back and try again without changing the address by hand."
)


def refusal_response(request: HttpRequest, error: InvalidInput) -> HttpResponse:
    # Lazy: this answers before the request's language is chosen, and the
    # page is written in it (core.exception_handler.answer_language).
    if error.code in UNSHOWN_CODES.values():
        page_message = UNSHOWN_IN_FORM
    elif error.code == "request.query_not_utf8":
        page_message = BROKEN_ADDRESS
    else:
        page_message = gettext_lazy(
            "The form contained characters that cannot be saved (a NUL character or"
            " broken text). Remove them and try again."
        )
    return refusal_answer(request, 400, error, page_message=page_message)


# Where a request's parser context keeps the body the checks refused, with
# the refusal, for the refusal's record alone (:func:`refused_body`).
_REFUSED_BODY = "refused_body"


def body_load(raw: bytes, parser_context: Any) -> Any:
    """:func:`json_load` for a request's body. A body refused is kept in the
    request's ``parser_context`` with its refusal, so that the refusal can be
    recorded on the citizen the body names (R9, :func:`refused_body`)."""
    try:
        return json_load(raw)
    except InvalidInput as refused:
        if isinstance(parser_context, dict):
            parser_context[_REFUSED_BODY] = (raw, refused)
        raise


def body_refused(raw: bytes, parser_context: Any, refused: InvalidInput) -> InvalidInput:
    """``refused``, the refusal of a body that is JSON but not what its door
    reads (a FHIR resource with no ``resourceType``), kept as
    :func:`body_load` keeps its own, so that it is recorded on the citizen
    the body names (R9) as every refusal of a body is."""
    if isinstance(parser_context, dict):
        parser_context[_REFUSED_BODY] = (raw, refused)
    return refused


def _kept(request: Any) -> tuple[bytes, InvalidInput] | None:
    context = getattr(request, "parser_context", None)
    return context.get(_REFUSED_BODY) if isinstance(context, dict) else None


def body_refusal_of(request: Any) -> InvalidInput | None:
    """The refusal of the body of ``request`` (REST framework's) by the checks
    here, if its body was refused."""
    kept = _kept(request)
    return kept[1] if kept is not None else None


def refused_body(request: Any) -> Any:
    """The JSON of a body the checks here refused, read without them, and only
    to find whom it names for the refusal's record (an id, a reference, a CPR
    number typed into a field): never handed to a view, never stored. None
    when no body was refused or it is no JSON at all."""
    kept = _kept(request)
    if kept is None:
        return None
    try:
        return orjson.loads(kept[0])
    except orjson.JSONDecodeError:
        return None


def body_named(request: Any) -> Any:
    """What the body of a refused request (REST framework's) says, to find
    whom it names: its JSON as read, or, when the checks here refused it, as
    sent (:func:`refused_body`); None when it cannot be read at all."""
    try:
        data = request.data
    except (InvalidInput, drf.ParseError, drf.UnsupportedMediaType):
        data = None
    refused = refused_body(request)
    return data if refused is None else refused


# What a JSON body labelled with another charset is told (415), on /api/ as
# on /fhir/ (core.fhir.views).
JSON_READ_AS_UTF8 = gettext_lazy("A JSON body is read as UTF-8 (charset=utf-8).")


def declared_charset(content_type: str) -> str | None:
    """The ``charset`` a Content-Type names, lower-case, or None."""
    for param in content_type.split(";")[1:]:
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset":
            return value.strip().strip('"').lower()
    return None


class JSONParser(BaseParser):
    """REST framework's JSON parser, through the same checks as every body.

    JSON is UTF-8 (RFC 8259 §8.1): a body labelled with another charset
    (``application/json; charset=latin-1``) is refused unread, 415
    ``request.unsupported_media_type``, as ``/fhir/`` refuses it, never read
    as UTF-8 against its label (the Latin-1 bytes of two letters would be
    stored as one other letter)."""

    media_type = "application/json"

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        if declared_charset(media_type or "") not in (None, "utf-8", "utf8"):
            raise drf.UnsupportedMediaType(media_type or "", detail=JSON_READ_AS_UTF8)
        raw = stream.read() if stream is not None else b""
        if not raw:
            raise InvalidInput("request.malformed", "The request body is empty.")
        return body_load(raw, parser_context)


# --- the size of a body, before anything reads it ---------------------------------


def body_limit(path: str) -> int:
    """The largest body the door of ``path`` takes: a command on ``/api/`` is
    small; ``/fhir/`` takes transaction Bundles and partners' messages
    (``$process-message``); a page's form is held to Django's own limit."""
    json_limit = int(settings.REQUEST_MAX_JSON_BYTES)
    if path.startswith("/api/"):
        return min(int(settings.REQUEST_MAX_API_BYTES), json_limit)
    if is_fhir_path(path):
        return json_limit
    return int(settings.DATA_UPLOAD_MAX_MEMORY_SIZE or json_limit)


def _declared_length(request: HttpRequest) -> int | None:
    try:
        return int(request.META.get("CONTENT_LENGTH") or "")
    except ValueError:
        return None


def _chunked(request: HttpRequest) -> bool:
    return "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower()


def _content_coding(request: HttpRequest) -> str:
    """The content coding a request with a body says it is sent in, '' for
    none (``identity`` is none). A request without a body has nothing to decode."""
    codings = [
        c.strip().lower()
        for c in request.META.get("HTTP_CONTENT_ENCODING", "").split(",")
        if c.strip().lower() not in ("", "identity")
    ]
    has_body = (_declared_length(request) or 0) > 0 or _chunked(request)
    return ", ".join(codings) if codings and has_body else ""


class BodySizeMiddleware:
    """Refuses a body larger than its door takes (:func:`body_limit`) with 413
    ``request.too_large`` before any of it is read: by its Content-Length, or,
    sent in chunks without one, after reading one byte past the limit and no
    more. A chunked body within the limit is kept, with its length, for the
    view (Django alone reads a body without Content-Length as empty). A body
    sent compressed is refused unread (415, :func:`content_coding_response`):
    its bytes are not the JSON or form they would be read as."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if _url_bytes(request) > MAX_URL_BYTES:
            return uri_too_long_response(request)
        coding = _content_coding(request)
        if coding:
            return content_coding_response(request, coding)
        limit = body_limit(request.path)
        length = _declared_length(request)
        if length is not None and length > limit:
            return too_large_response(request, limit)
        if length is None and _chunked(request) and isinstance(request, WSGIRequest):
            environ = request.environ
            # Only a server that ends the input at the body's end (gunicorn
            # says so) may be read to its end without a length.
            if environ.get("wsgi.input_terminated"):
                raw = environ["wsgi.input"].read(limit + 1)
                if len(raw) > limit:
                    return too_large_response(request, limit)
                request.META["CONTENT_LENGTH"] = str(len(raw))
                request._stream = LimitedStream(io.BytesIO(raw), len(raw))  # type: ignore[assignment]
        return self.get_response(request)


def _url_bytes(request: HttpRequest) -> int:
    """The URL's length as it came: the path as sent (percent-encoded, or its
    UTF-8) and the raw query string."""
    path = request.META.get("RAW_URI") or request.path
    query = "" if "?" in path else request.META.get("QUERY_STRING", "")
    return len(path.encode("utf-8", "surrogateescape")) + len(query.encode("latin-1", "replace"))


def uri_too_long_response(request: HttpRequest) -> HttpResponse:
    error = UriTooLong(
        "request.uri_too_long",
        f"A URL may be at most {MAX_URL_BYTES} bytes; a long search goes in the body of a POST.",
        params={"limit": MAX_URL_BYTES},
    )
    return refusal_answer(
        request, 414, error, page_message=gettext_lazy("The address is too long.")
    )


def content_coding_response(request: HttpRequest, coding: str) -> HttpResponse:
    """415 for a body in a content coding the platform does not take, saying
    which one it takes (``Accept-Encoding: identity``, RFC 9110 §12.5.3)."""
    error = NotSupported(
        "request.content_encoding_unsupported",
        f"The request body is sent with Content-Encoding {shown(coding, 40)};"
        " send it uncompressed (identity).",
        params={"encoding": shown(coding, 40)},
    )
    response = refusal_answer(
        request,
        415,
        error,
        page_message=gettext_lazy("Send the request uncompressed (no Content-Encoding)."),
    )
    response.headers["Accept-Encoding"] = "identity"
    return response


def too_large_response(request: HttpRequest, limit: int) -> HttpResponse:
    return refusal_answer(
        request, 413, too_large(limit), page_message=gettext_lazy("The request is too large.")
    )
