"""Model validation and required text, speaking the platform's error language."""

from __future__ import annotations

import re
import sys
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.apps import apps
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import IntegrityError, models, transaction
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from core.errors import Conflict, Duplicate, InvalidInput
from core.messages import UNIQUE_RULES, user_message


def full_clean_or_raise(
    instance: models.Model, *, code: str, exclude: list[str] | None = None
) -> None:
    """Run ``full_clean`` and turn Django's ValidationError into :class:`InvalidInput`
    naming the first offending field. Django's messages never echo the value;
    a database constraint's own message (which names the constraint) is
    replaced by words a client can act on."""
    try:
        instance.full_clean(exclude=exclude)
    except ValidationError as exc:
        broken = _unique_rule_broken(instance, exc)
        if broken is not None:
            raise broken from None
        if hasattr(exc, "error_dict"):
            field, errors = next(iter(exc.error_dict.items()))
            messages = [m for e in errors for m in e.messages]
        else:
            field, messages = "__all__", exc.messages
        message = "; ".join(_without_constraint_names(instance, messages))
        raise InvalidInput(code, message, field=None if field == "__all__" else field) from None


def unique_conflict(constraint_name: str) -> Duplicate | None:
    """The refusal of a write that breaks the unique rule ``constraint_name``
    keeps (:data:`core.messages.UNIQUE_RULES`): its own code and sentence, on
    the field a person typed; None for a rule no person breaks by typing."""
    rule = UNIQUE_RULES.get(constraint_name)
    if rule is None:
        return None
    code, field, message = rule
    return Duplicate(code, message, field=field)


def unique_conflict_of_fields(model: type[models.Model], fields: Iterable[str]) -> Duplicate | None:
    """:func:`unique_conflict` of ``model``'s unique rule over exactly
    ``fields`` (by their names), as a form set finds it broken between its
    own rows."""
    named = set(fields)
    for constraint in model._meta.constraints:
        if isinstance(constraint, models.UniqueConstraint) and set(constraint.fields) == named:
            return unique_conflict(constraint.name)
    if len(named) == 1:
        [name] = named
        field = model._meta.get_field(name)
        if getattr(field, "unique", False) and not getattr(field, "primary_key", False):
            return unique_conflict(unique_column_rule(model, name))
    return None


def unique_column_rule(model: type[models.Model], field_name: str) -> str:
    """The name :data:`core.messages.UNIQUE_RULES` gives the unique rule of
    a column declared ``unique=True``: ``<table>.<column>`` (the database
    names its index after how it was created, which no rule should depend on)."""
    field = model._meta.get_field(field_name)
    return f"{model._meta.db_table}.{getattr(field, 'column', field_name)}"


def integrity_conflict(exc: IntegrityError) -> Conflict | None:
    """:func:`unique_conflict` for a write the database refused (someone saved
    the same name first, past the model's validation)."""
    return unique_conflict(constraint_broken(exc))


# SQLite names a broken unique rule by its table's columns
# ("UNIQUE constraint failed: medicine_cabinet_location.organisation_id,
# medicine_cabinet_location.name"), or by the index of a conditional one.
_SQLITE_UNIQUE = re.compile(
    r"UNIQUE constraint failed: (?:index '(?P<index>[^']+)'|(?P<columns>.+))"
)
# PostgreSQL's detail of a broken unique rule names its columns before the
# values ("Key (cpr)=(...) already exists."): only the names are read.
_POSTGRES_KEY = re.compile(r"Key \((?P<columns>[^)]*)\)=")


def constraint_broken(exc: IntegrityError) -> str:
    """The name of the constraint the database refused the write for: from
    PostgreSQL's diagnostics, or read back from SQLite's columns; a column
    declared ``unique=True`` by :func:`unique_column_rule`'s name."""
    diag = getattr(exc.__cause__, "diag", None)
    if diag is not None:
        name = str(getattr(diag, "constraint_name", "") or "")
        if name in UNIQUE_RULES:
            return name
        key = _POSTGRES_KEY.match(str(getattr(diag, "message_detail", "") or ""))
        table = str(getattr(diag, "table_name", "") or "")
        if key is None or not table:
            return name
        columns = {c.strip().strip('"') for c in key["columns"].split(",")}
        return _unique_rule_of_columns(table, columns) or name
    match = _SQLITE_UNIQUE.search(str(exc))
    if match is None:
        return ""
    if match["index"]:
        return match["index"]
    pairs = [c.strip().rpartition(".") for c in match["columns"].split(",")]
    tables = {table for table, _dot, _column in pairs}
    if len(tables) != 1:
        return ""
    return _unique_rule_of_columns(tables.pop(), {column for _t, _dot, column in pairs})


def _unique_rule_of_columns(table: str, columns: set[str]) -> str:
    """The unique rule of ``table`` over exactly ``columns``: a named
    constraint, or a column declared ``unique=True``; "" for none."""
    for model in apps.get_models():
        if model._meta.db_table != table:
            continue
        for constraint in model._meta.constraints:
            if isinstance(constraint, models.UniqueConstraint) and constraint.fields:
                held = {getattr(model._meta.get_field(f), "column", f) for f in constraint.fields}
                if held == columns:
                    return constraint.name
        for field in model._meta.concrete_fields:
            if field.unique and not field.primary_key and {field.column} == columns:
                return unique_column_rule(model, field.name)
    return ""


def _unique_rule_broken(instance: models.Model, exc: ValidationError) -> Conflict | None:
    """The first unique rule of :data:`core.messages.UNIQUE_RULES` that
    ``full_clean`` found broken."""
    return next((conflict for conflict, _error in _unique_rules_broken(instance, exc)), None)


def _unique_rules_broken(
    instance: models.Model, exc: ValidationError
) -> list[tuple[Conflict, ValidationError]]:
    """Each unique rule of :data:`core.messages.UNIQUE_RULES` that Django's
    validation found broken, with the error it raised: Django names a
    constraint over fields by those fields (``unique_check``), a conditional
    one by its name."""
    groups = exc.error_dict.values() if hasattr(exc, "error_dict") else [exc.error_list]
    errors = [e for group in groups for e in group]
    # Each unique rule of the model: its name, the fields Django's
    # validation names it by, and whether a message may name it instead.
    rules: list[tuple[str, tuple[str, ...], bool]] = [
        (constraint.name, tuple(constraint.fields), True)
        for constraint in instance._meta.constraints
        if isinstance(constraint, models.UniqueConstraint)
    ]
    rules += [
        (unique_column_rule(type(instance), field.name), (field.name,), False)
        for field in instance._meta.concrete_fields
        if field.unique and not field.primary_key
    ]
    found: list[tuple[Conflict, ValidationError]] = []
    for name, fields, by_name in rules:
        conflict = unique_conflict(name)
        if conflict is None:
            continue
        for error in errors:
            params = error.params or {}
            named = tuple(params.get("unique_check") or ()) == fields
            if named or (by_name and name in str(error.message)):
                found.append((conflict, error))
    return found


def unique_rules_on_their_fields(
    instance: models.Model, exc: ValidationError, *, fields: Iterable[str]
) -> ValidationError:
    """``exc`` as a form shows it: each unique rule it holds broken refused
    in the platform's sentence (the API's ``message``) on the field a person
    typed, where the form has that field; the other errors as they were."""
    broken = _unique_rules_broken(instance, exc)
    if not broken:
        return exc
    replaced = {id(error) for _conflict, error in broken}
    shown = set(fields)
    placed: dict[str, list[ValidationError]] = {}
    for field, errors in exc.update_error_dict({}).items():
        kept = [e for e in errors if id(e) not in replaced]
        if kept:
            placed[field] = kept
    for conflict, _error in broken:
        field = conflict.field if conflict.field in shown else NON_FIELD_ERRORS
        placed.setdefault(field or NON_FIELD_ERRORS, []).append(
            ValidationError(user_message(conflict), code=conflict.code)
        )
    return ValidationError(placed)


def full_clean_changed(instance: models.Model, *, fields: Iterable[str]) -> None:
    """``full_clean`` of the fields a write changes, for an instance read from
    the database: the rest was checked when it was written, and its foreign
    keys are held by the database. Each foreign key and each constraint
    checked here would be a round trip (a check constraint three: it is asked
    in a savepoint); the database checks the constraints at the write, in the
    caller's transaction."""
    changed = set(fields)
    instance.full_clean(
        exclude=[f.name for f in instance._meta.concrete_fields if f.name not in changed],
        validate_constraints=False,
    )


def _without_constraint_names(instance: models.Model, messages: list[str]) -> list[str]:
    named = {
        constraint.name: constraint
        for constraint in instance._meta.constraints
        if isinstance(constraint, models.BaseConstraint)
    }
    plain = []
    for message in messages:
        constraint = next((c for name, c in named.items() if name in str(message)), None)
        if constraint is None:
            plain.append(str(message))
        elif isinstance(constraint, models.UniqueConstraint):
            plain.append(str(_("Another record already uses these identifiers.")))
        else:
            plain.append(str(_("The values given do not fit together.")))
    return plain


def is_digits(text: str) -> bool:
    """Whether ``text`` is one or more of the digits 0-9 that ``int`` reads.
    ``str.isdigit`` is not that: it also takes a superscript such as "²",
    which ``int`` refuses (a 500 where a 400 was due), and the digits of
    other scripts, which ``int`` reads as a number the client never typed as
    one. Nor does ``int`` read more digits than the interpreter allows (4300,
    against quadratic parsing): a header, a form or a reference may hold
    that many, and they are no number here either."""
    limit = sys.get_int_max_str_digits()
    return text.isascii() and text.isdigit() and (limit == 0 or len(text) <= limit)


# The largest row id: the primary keys are PostgreSQL bigints.
LARGEST_ROW_ID = 2**63 - 1


def row_id_text(text: str) -> int | None:
    """The row id ``text`` names, written as the platform writes one (and as
    a JSON number is written): the digits 0-9, the first not 0, no larger
    than a bigint; None for anything else. ``"007"`` is no id: read as 7 it
    named row 7 under another id than the one answered (a FHIR resource's
    id is its text, and the answer said ``"id": "7"``), where a JSON body's
    ``"007"`` for an id was refused."""
    if not is_digits(text) or text[0] == "0" or len(text) > len(str(LARGEST_ROW_ID)):
        return None
    value = int(text)
    return value if value <= LARGEST_ROW_ID else None


# A number a client writes as text where the field takes a JSON number: as
# JSON itself writes it (RFC 8259 section 6), without an exponent. ``int``,
# ``float`` and ``Decimal`` read far more (" 5 ", "+5", "5.", ".5", "1_000",
# "NaN", "Infinity" and other scripts' digits), each a number the client may
# not have meant; "-0" says a sign no number has.
_WHOLE_TEXT = re.compile(r"-?(?:0|[1-9][0-9]*)")
_DECIMAL_TEXT_WRITTEN = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?")


def is_number_text(text: str, *, whole: bool) -> bool:
    """Whether ``text`` is a number written as JSON writes one: digits 0-9,
    perhaps a minus in front and (unless ``whole``) a decimal point between
    digits; no space, plus, exponent, leading zero or negative zero."""
    pattern = _WHOLE_TEXT if whole else _DECIMAL_TEXT_WRITTEN
    if len(text) > 64 or not pattern.fullmatch(text):
        return False
    return not (text.startswith("-") and not text.strip("-0."))


# A phone number as people write it: digits with the usual separators and
# an optional leading "+", at least four digits (1813 itself) and at most
# fifteen (E.164), then perhaps a hospital's extension ("lok. 1234", "ext. 12").
PHONE_NUMBER = re.compile(
    r"(?P<number>\+?[0-9][0-9 ()./-]*?)(?:\s*(?:lok(?:al)?|ext|x)\.?\s*[0-9]{1,6})?",
    re.IGNORECASE,
)


def is_phone_number(value: str) -> bool:
    match = PHONE_NUMBER.fullmatch(value.strip())
    if match is None:
        return False
    return 4 <= sum(c.isdigit() for c in match["number"]) <= 15


def row_id(raw: object) -> int:
    """A row's id from a form field: anything but plain digits is 0, which no
    row has, so a lookup finds nothing (a 4xx) instead of failing (a 500)."""
    text = raw.strip() if isinstance(raw, str) else ""
    return int(text) if is_digits(text) and len(text) <= 18 else 0


def insert_or_conflict(instance: models.Model, *, code: str, message: str) -> None:
    """Insert ``instance``; a unique constraint it breaks (someone got there
    first) becomes :class:`Conflict` and leaves the caller's transaction usable."""
    try:
        with transaction.atomic():
            instance.save(force_insert=True)
    except IntegrityError as exc:
        raise integrity_conflict(exc) or Conflict(code, message) from None


# --- text a person must write ---------------------------------------------------

# Letters that are drawn as nothing although Unicode does not call them space
# or format characters: fillers of the Hangul script, the blank Braille cell
# and the combining grapheme joiner. Text of these alone is not written text.
_INVISIBLE = frozenset("\u034f\u115f\u1160\u2800\u3164\uffa0")


def _invisible(ch: str) -> bool:
    """Whether ``ch`` shows nothing a reader could take as text: whitespace
    of any script (``str.isspace``: also the no-break space), a format
    character (category Cf: zero-width space and joiners, word joiner, byte
    order mark, soft hyphen, direction marks) or one of :data:`_INVISIBLE`."""
    return ch.isspace() or ch in _INVISIBLE or unicodedata.category(ch) == "Cf"


def text_blank(value: object) -> bool:
    """Whether ``value`` says nothing: not a string, empty, or made only of
    characters that show nothing. The one rule for every reason, reply, note
    and name a person must write, on every door; ``str.strip`` is not that
    rule: it keeps a zero-width space, a word joiner or a byte order mark,
    and a record would hold a reason nobody can read."""
    return not isinstance(value, str) or all(_invisible(ch) for ch in value)


def text_trimmed(value: object) -> str:
    """``value`` without the characters that show nothing at either end
    (see :func:`text_blank`); blank text is ``""``, and so is a value that is
    not a string."""
    if not isinstance(value, str):
        return ""
    start, end = 0, len(value)
    while start < end and _invisible(value[start]):
        start += 1
    while end > start and _invisible(value[end - 1]):
        end -= 1
    return value[start:end]


def required_text(
    value: object, *, code: str, field: str, message: str, rule: str | None = None
) -> str:
    """``value`` trimmed (:func:`text_trimmed`); blank (:func:`text_blank`)
    is refused with ``code`` on ``field``."""
    cleaned = text_trimmed(value)
    if not cleaned:
        raise InvalidInput(code, message, field=field, rule=rule)
    return text_shown_as_written(cleaned, field=field)


# --- characters no text holds --------------------------------------------------

# Free text is read on pages, in the auditor's CSV, in FHIR and in partners'
# messages. A character that shows nothing yet changes what a reader sees
# could make a reason read otherwise than it was written, so no text holds:
# - a control character: C0 except TAB, LF and CR, DEL, and C1 (NUL is
#   refused by the door with its own code: PostgreSQL cannot store it);
# - a bidirectional embedding, override (U+202A-U+202E) or isolate
#   (U+2066-U+2069): they reverse or reorder a run of text as it is shown;
# - any other format character (category Cf) but those real writing needs:
#   the soft hyphen, the zero-width non-joiner and joiner (emoji such as a
#   nurse are joined by it) and the left-to-right, right-to-left and Arabic
#   letter marks (they place a neutral character, never reverse a run, and
#   Windows pastes them with a date). Tag characters are kept only where
#   they end a flag (black flag, tags, cancel tag); elsewhere they hide text.
_UNSHOWN = re.compile(
    "(?P<control>[\x01-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f])"
    "|(?P<bidi>[\u202a-\u202e\u2066-\u2069])"
    "|(?P<hidden>[\u0600-\u0605\u06dd\u070f\u0890\u0891\u08e2\u180e\u200b"
    "\u2060-\u2064\u206a-\u206f\ufeff\ufff9-\ufffb\U000110bd\U000110cd"
    "\U00013430-\U0001343f\U0001bca0-\U0001bca3\U0001d173-\U0001d17a"
    "\U000e0001\U000e0020-\U000e007f])"
)
_FLAG_TAGS = re.compile("(?<=\U0001f3f4)[\U000e0020-\U000e007e]+\U000e007f")
# What the OpenAPI description states as every free text's pattern (core.openapi).
UNSHOWN_CHARACTERS = _UNSHOWN
UNSHOWN_CODES = {
    "control": "request.control_character",
    "bidi": "request.bidi_control",
    "hidden": "request.invisible_character",
}


def unshown_character(value: str) -> tuple[str, str] | None:
    """The refusal code and the character (``U+202E``) of the first
    character in ``value`` that no text may hold, or None."""
    match = _UNSHOWN.search(value)
    if match is not None and match["hidden"] and "\U000e007f" in value:
        match = _UNSHOWN.search(_FLAG_TAGS.sub("", value))
    if match is None:
        return None
    assert match.lastgroup is not None
    return UNSHOWN_CODES[match.lastgroup], f"U+{ord(match[0]):04X}"


def unshown_refusal(code: str, character: str, where: str) -> InvalidInput:
    """The refusal of a text holding ``character``, naming the field ``where``."""
    field, params = where or None, {"where": where, "character": character}
    if code == "request.control_character":
        return InvalidInput(
            "request.control_character",
            f"Text may not contain the control character {character} ({where}).",
            field=field,
            params=params,
        )
    if code == "request.bidi_control":
        return InvalidInput(
            "request.bidi_control",
            f"Text may not contain {character}, a character that changes the direction"
            f" of the text shown ({where}).",
            field=field,
            params=params,
        )
    return InvalidInput(
        "request.invisible_character",
        f"Text may not contain {character}, a character that is not shown ({where}).",
        field=field,
        params=params,
    )


def text_shown_as_written(value: str, *, field: str) -> str:
    """``value`` if it holds no character that shows nothing yet changes what
    a reader sees (:func:`unshown_character`); refused on ``field``."""
    found = unshown_character(value)
    if found is not None:
        raise unshown_refusal(*found, field)
    return value


def text_at_most(text: str, most: int, *, code: str, field: str, message: str) -> str:
    """``text`` if it has at most ``most`` characters. A longer one is refused
    with ``code`` on ``field``, naming the limit (``params["max"]``), and never
    cut short: what is kept would not be what was written."""
    if len(text) > most:
        raise InvalidInput(code, message, field=field, params={"max": most})
    return text


# --- decimals bounded to what their column stores ------------------------------

# A number given as a number (an int, a float, a Decimal), as ``str`` writes
# it: no NaN, no Infinity, perhaps an exponent ("1e-07", "1E+3").
_DECIMAL_TEXT = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]{1,6})?")


# A number as a person types it into a page's field (*indtastet*): the
# digits 0-9, perhaps a minus in front and one decimal sign between digits
# (a comma, or the dot a tablet's keyboard often gives), once what shows
# nothing at either end is trimmed (the keyboard adds a space). Never a
# plus, a decimal sign with no digit on one side ("5,", ",5"), an exponent,
# NaN, Infinity, another script's digits or a space between the digits.
_TYPED_TEXT = re.compile(r"-?[0-9]+(?:[.,][0-9]+)?")
# Digits grouped by thousands with dots ("1.000", "12.500", "1.000.000",
# "1.000,5"): a Dane writes a thousand so, an English keyboard a decimal
# point. Which was meant is not guessed; the person writes it again.
_DOT_GROUPED = re.compile(r"-?[1-9][0-9]{0,2}(?:\.[0-9]{3})+(?:,[0-9]+)?")

TYPED_NUMBER_INVALID = gettext_noop(
    "Write the number with digits only, and a comma as decimal separator (for example 38,5)."
)
TYPED_NUMBER_GROUPED = gettext_noop(
    "Write the number without a dot as thousands separator: 1000,"
    " or with a comma as decimal separator: 1,5."
)


class TypedNumber(str):
    """A number as a person typed it into a field of a page. A page hands the
    text on marked so (:func:`typed_number`), and :func:`decimal_parse` reads
    it by the Danish page's rules, whatever the service it passes through;
    a JSON body, a FHIR element or a partner's message is never marked, and
    keeps the dot as its decimal point."""

    __slots__ = ()


def typed_number(raw: object) -> TypedNumber:
    """A page field's text, marked as typed by a person (:class:`TypedNumber`),
    without the characters that show nothing at either end."""
    return TypedNumber(text_trimmed(raw))


# A latitude or longitude as typed on a page or sent by the tablet's position
# script: a typed number's shape (``_TYPED_TEXT``) — digits, perhaps a minus
# in front and one decimal point or comma between digits. Unlike a typed
# number, "55.751" is a position's decimals, never a grouped thousand.
_COORDINATE_TEXT = re.compile(r"-?[0-9]{1,15}(?:[.,][0-9]{1,15})?")


def typed_coordinate(raw: object) -> float | None:
    """The latitude or longitude in ``raw`` (a comma or a dot as decimal
    sign), or None when it is not a plain decimal; the caller refuses it on
    its field. Whether it lies on the globe is the caller's range check."""
    text = text_trimmed(raw)
    if not _COORDINATE_TEXT.fullmatch(text):
        return None
    return float(text.replace(",", "."))


def _typed_text(text: str) -> str | None:
    """The number in ``text`` written with a decimal point, or None when it is
    not one; raises ``ValueError`` for dot-grouped thousands (ambiguous)."""
    if _DOT_GROUPED.fullmatch(text):
        raise ValueError("grouped")
    if not _TYPED_TEXT.fullmatch(text):
        return None
    return text.replace(",", ".")


def _exponent(value: Decimal) -> int:
    exponent = value.as_tuple().exponent
    assert isinstance(exponent, int)  # finite: the pattern admits no NaN or Infinity
    return exponent


@dataclass(frozen=True)
class DecimalBounds:
    """What a decimal column holds: ``max_digits`` and ``decimal_places`` as the
    model field declares them, and the least value the domain allows."""

    max_digits: int
    decimal_places: int
    minimum: Decimal | None = None
    positive: bool = False

    @classmethod
    def of(
        cls,
        model: type[models.Model],
        name: str,
        *,
        minimum: Decimal | None = None,
        positive: bool = False,
    ) -> DecimalBounds:
        field = model._meta.get_field(name)
        if not isinstance(field, models.DecimalField):
            raise TypeError(f"{model.__name__}.{name} is not a DecimalField")
        return cls(field.max_digits, field.decimal_places, minimum=minimum, positive=positive)


def decimal_text_pattern(bounds: DecimalBounds, *, decimal_comma: bool = False) -> str:
    """The text :func:`decimal_parse` takes for ``bounds`` from a JSON body,
    as a pattern for the API's description: digits without a leading zero,
    fewer before the point than the column holds, at most its decimals after
    it (trailing zeros beyond them say the same number), a minus only where
    a value below zero may be kept, and a comma for the point where
    ``decimal_comma`` takes one. That a value is above zero or above a
    minimum is not a pattern's to say."""
    whole = bounds.max_digits - bounds.decimal_places
    places = bounds.decimal_places
    below_zero = not bounds.positive and (bounds.minimum is None or bounds.minimum < 0)
    sign = "-?" if below_zero else ""
    digits = f"(?:0|[1-9][0-9]{{0,{whole - 1}}})" if whole > 0 else "0"
    point = "[.,]" if decimal_comma else r"\."
    significant = "" if places == 0 else "[0-9]" if places == 1 else f"[0-9]{{1,{places}}}"
    fraction = f"{point}{significant}0*" if places > 0 else f"{point}0+"
    return f"^{sign}{digits}(?:{fraction})?$"


def decimal_parse(
    raw: object,
    bounds: DecimalBounds,
    *,
    field: str,
    code: str,
    allow_float: bool = True,
    decimal_comma: bool = False,
) -> Decimal:
    """One decimal from a JSON body, a form or a FHIR element, checked against
    the column it is stored in before any arithmetic touches it.

    ``code`` is the code for "not a number" and ends in ``invalid``; the other
    refusals share its stem: ``…too_large``, ``…too_many_decimals``,
    ``…not_positive``, ``…below_minimum`` (``quantity.invalid``,
    ``quantity.too_large`` …). Every refusal names ``field``. ``-0`` is 0.

    Text is read by one of two rules, never by what ``Decimal`` makes of it
    (it takes " 5 ", "+5", "5.", ".5", "1_000", "1e3" and other scripts'
    digits):

    - typed by a person on a page (:class:`TypedNumber`), whatever
      ``decimal_comma`` says: trimmed of what shows nothing at either end,
      then digits, perhaps a minus, and a decimal comma or point between
      digits; digits grouped by dots ("1.000") are refused as ambiguous
      (``code`` with its own sentence);
    - any other text (a JSON body, a FHIR element, a partner's message): the
      number as JSON writes it (:func:`is_number_text`), never with an
      exponent, a space, a plus or a point without a digit on each side;
      with ``decimal_comma`` (a field whose documentation says so) a comma
      may stand for the point.

    A number (a JSON number literal such as ``1.000e2``) keeps its meaning.
    """
    if not code.endswith("invalid"):
        raise ValueError("code must end in 'invalid'")
    stem = code.removesuffix("invalid")

    def refuse(problem: str, message: str, **extra: object) -> InvalidInput:
        return InvalidInput(
            code if problem == "invalid" else stem + problem, message, field=field, extra=extra
        )

    if isinstance(raw, bool) or not isinstance(raw, int | float | str | Decimal):
        raise refuse("invalid", _("Give a number."))
    if isinstance(raw, float) and not allow_float:
        raise refuse("invalid", _("Give the number as an exact decimal string."))
    if isinstance(raw, TypedNumber):
        try:
            typed = _typed_text(text_trimmed(raw)) if len(raw) <= 64 else None
        except ValueError:
            raise refuse("invalid", TYPED_NUMBER_GROUPED) from None
        if typed is None:
            raise refuse("invalid", TYPED_NUMBER_INVALID)
        text = typed
    elif isinstance(raw, str):
        text = raw.replace(",", ".") if decimal_comma else raw
        # "-0" is taken here (it is 0, below), as a JSON number -0 is.
        if len(text) > 64 or not _DECIMAL_TEXT_WRITTEN.fullmatch(text):
            raise refuse("invalid", _("Give a number."))
    else:
        text = str(raw)
        if len(text) > 64 or not _DECIMAL_TEXT.fullmatch(text):
            raise refuse("invalid", _("Give a number."))
    value = Decimal(text)
    if value.is_zero():
        value = abs(value)  # -0 is 0
    whole_digits = bounds.max_digits - bounds.decimal_places
    if not value.is_zero() and value.adjusted() >= whole_digits:
        # Grouped (1.000.000.000): ten bare digits read as a CPR number, and
        # every error message is scrubbed of those.
        limit = number_format(10**whole_digits, force_grouping=True)
        raise refuse(
            "too_large",
            _("The number must be below %(limit)s.") % {"limit": limit},
            max_digits=bounds.max_digits,
        )
    exponent = value.normalize().as_tuple().exponent
    assert isinstance(exponent, int)  # finite: the pattern admits no NaN or Infinity
    if -exponent > bounds.decimal_places:
        raise refuse(
            "too_many_decimals",
            _("At most %(places)s decimals.") % {"places": bounds.decimal_places},
            decimal_places=bounds.decimal_places,
        )
    if _exponent(value) > 0:
        # 1e3 is stored and echoed as 1000, never as "1E+3".
        value = value.quantize(Decimal(1))
    elif -_exponent(value) > bounds.decimal_places:
        # Trailing zeros beyond the column's places ("5.0000") say the same
        # number: kept to the column's places, not refused when it is saved.
        value = value.quantize(Decimal(1).scaleb(-bounds.decimal_places))
    if bounds.positive and value <= 0:
        raise refuse("not_positive", _("The number must be greater than zero."))
    if bounds.minimum is not None and value < bounds.minimum:
        raise refuse(
            "below_minimum",
            _("The number may not be below %(minimum)s.") % {"minimum": bounds.minimum},
            minimum=str(bounds.minimum),
        )
    return value
