"""A refusal whose sentence is built from values (a code system, an element,
a limit) reads in the request's language with those values in it.

The scan reads the platform's source: an error raised with an f-string, a
``%``-formatted or ``.format``-ed English message must pass its values as
``params`` and have a template for its code in ``core.messages.TEMPLATES``.
Without one, a Danish clinician or partner read only the code's general
sentence (or the English one): "R2 permitted data only: Condition.code.coding[0]
is coded in ICD-10 chapter F …" became "The entry cannot be used."
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

from django.utils import translation

from core.errors import InvalidInput
from core.messages import BY_CODE, REFERENCE_OR_ID, TEMPLATES, user_message
from integrations.models import INBOUND_REASON_LABELS
from tests.source_trees import syntax_tree

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("acute", "consent", "core", "integrations", "medicine_cabinet", "portal", "worker")

# Built from values and still read in Danish through the code's general
# sentence (BY_CODE): give them params and a template, then remove them here.
PENDING: set[tuple[str, str]] = set()

# Built from a third party's English (pydantic's validation problems, the
# log verifier's report): Danish gets the code's general sentence and a FHIR
# partner the precise English one as diagnostics, never a sentence in two
# languages.
GENERAL_ONLY = {"fhir.invalid", "audit.archive_broken_log", "message.invalid_fhir"}

_GETTEXT = {"gettext", "_", "pgettext", "ngettext"}
_PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def _sources() -> Iterator[tuple[str, ast.Module]]:
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" not in path.parts:
                yield str(path.relative_to(ROOT)), syntax_tree(path)


def _platform_errors(trees: list[tuple[str, ast.Module]]) -> set[str]:
    """The names of PlatformError and every class built on it, anywhere, and
    of a partner's message refused (``integrations.messages.InvalidMessage``),
    whose sentence the acknowledgement words by the same templates."""
    names = {"PlatformError", "InvalidMessage"}
    classes = [
        node for _where, tree in trees for node in ast.walk(tree) if isinstance(node, ast.ClassDef)
    ]
    grown = True
    while grown:
        grown = False
        for node in classes:
            bases = {getattr(b, "id", None) or getattr(b, "attr", None) for b in node.bases}
            if node.name not in names and bases & names:
                names.add(node.name)
                grown = True
    return names


def _is_gettext(node: ast.expr | None) -> bool:
    return isinstance(node, ast.Call) and getattr(node.func, "id", "") in _GETTEXT


def _gettext_names(tree: ast.Module) -> set[str]:
    """Names every assignment in the module gives a gettext call."""
    assigned: dict[str, bool] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    assigned[target.id] = assigned.get(target.id, True) and _is_gettext(node.value)
    return {name for name, translated in assigned.items() if translated}


def _built_from_values(message: ast.expr, translated: set[str]) -> bool:
    """An f-string with a value in it, ``"…" % values`` or ``"…".format(…)`` —
    not ``gettext("…") % values`` (or a name only ever given a gettext
    call), which is in the active language already."""
    if isinstance(message, ast.JoinedStr):
        return any(isinstance(v, ast.FormattedValue) for v in message.values)
    if isinstance(message, ast.BinOp):
        if isinstance(message.op, ast.Mod):
            left = message.left
            return not (_is_gettext(left) or (isinstance(left, ast.Name) and left.id in translated))
        if isinstance(message.op, ast.Add):
            return _built_from_values(message.left, translated) or _built_from_values(
                message.right, translated
            )
    if isinstance(message, ast.Call) and getattr(message.func, "attr", "") == "format":
        return isinstance(message.func.value, ast.Constant)  # type: ignore[attr-defined]
    return False


def _passed_as(tree: ast.Module, keyword: str) -> list[ast.expr]:
    passed = [
        k.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        for k in node.keywords
        if k.arg == keyword
    ]
    return passed or [ast.Name(id=keyword)]


def _code_pattern(code: ast.expr) -> re.Pattern[str] | None:
    """The codes a literal or an f-string code can be."""
    if isinstance(code, ast.Constant) and isinstance(code.value, str):
        return re.compile(re.escape(code.value))
    if isinstance(code, ast.JoinedStr):
        parts = [
            re.escape(v.value) if isinstance(v, ast.Constant) else r"[a-z_]+" for v in code.values
        ]
        return re.compile("".join(parts))
    return None


def _module_codes(tree: ast.Module) -> dict[str, ast.Constant]:
    """The module's own names for codes (``REFERRAL_ENDED = "referral.ended"``)."""
    return {
        node.targets[0].id: node.value
        for node in tree.body
        if isinstance(node, ast.Assign)
        and len(node.targets) == 1
        and isinstance(node.targets[0], ast.Name)
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
    }


def _imported_codes(
    tree: ast.Module, codes_of: dict[str, dict[str, ast.Constant]]
) -> dict[str, ast.Constant]:
    """The names for codes the module imports from another of the platform's
    (``from integrations.medcom.inbound import IDENTIFIER_TOO_LONG``)."""
    found = {}
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module in codes_of:
            for alias in node.names:
                if alias.name in codes_of[node.module]:
                    found[alias.asname or alias.name] = codes_of[node.module][alias.name]
    return found


def _value_built_refusals() -> list[tuple[str, int, ast.expr, ast.Call]]:
    trees = list(_sources())
    errors = _platform_errors(trees)
    codes_of = {
        where.removesuffix(".py").replace("/", "."): _module_codes(tree) for where, tree in trees
    }
    found: list[tuple[str, int, ast.expr, ast.Call]] = []
    for where, tree in trees:
        translated = _gettext_names(tree)
        named_codes = {**_imported_codes(tree, codes_of), **_module_codes(tree)}
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", "")
            if name not in errors:
                continue
            keywords = {k.arg: k.value for k in node.keywords}
            code = node.args[0] if node.args else keywords.get("code")
            message = node.args[1] if len(node.args) >= 2 else keywords.get("message")
            if code is None or message is None or not _built_from_values(message, translated):
                continue
            if isinstance(code, ast.Name) and code.id in named_codes:
                found.append((where, node.lineno, named_codes[code.id], node))
                continue
            if isinstance(code, ast.BoolOp):
                # ``exc.code or "message.invalid_fhir"``: the code it falls back to.
                for alternative in code.values:
                    if isinstance(alternative, ast.Constant):
                        found.append((where, node.lineno, alternative, node))
                continue
            if isinstance(code, ast.Name):
                # A parameter: the codes its callers in the module pass as it.
                for passed in _passed_as(tree, code.id):
                    found.append((where, node.lineno, passed, node))
                continue
            found.append((where, node.lineno, code, node))
    return found


def _problems() -> list[str]:
    problems = []
    with translation.override("en"):
        for where, line, code, call in _value_built_refusals():
            pattern = _code_pattern(code)
            codes = [c for c in TEMPLATES if pattern and pattern.fullmatch(c)]
            named = str(code.value) if isinstance(code, ast.Constant) else ast.unparse(code)
            if (where, named) in PENDING:
                continue
            if named in GENERAL_ONLY:
                # A partner's message refused reads its reason's label
                # (integrations.messages.partner_sentence).
                general = named in BY_CODE or named in INBOUND_REASON_LABELS
                if not general or "params" in {k.arg for k in call.keywords}:
                    problems.append(f"{where}:{line} {named}: the general sentence only")
                continue
            keywords = {k.arg: k.value for k in call.keywords}
            if not codes:
                problems.append(f"{where}:{line} {named}: no template in core.messages.TEMPLATES")
                continue
            params = keywords.get("params")
            if params is None:
                problems.append(f"{where}:{line} {named}: the values are not passed as params")
                continue
            if isinstance(params, ast.Dict) and all(
                isinstance(k, ast.Constant) for k in params.keys
            ):
                given = {k.value for k in params.keys if isinstance(k, ast.Constant)}
                for c in codes:
                    wanted = set(_PLACEHOLDER.findall(str(TEMPLATES[c])))
                    if wanted - given:
                        problems.append(
                            f"{where}:{line} {named}: params lack {sorted(wanted - given)}"
                        )
    return problems


def test_the_scan_finds_value_built_refusals() -> None:
    found = {(where, ast.unparse(code)) for where, _line, code, _call in _value_built_refusals()}
    # An R2 refusal (RecordRefused, built on InvalidInput), a CPR check, the
    # audit archive, and a code built from values.
    assert ("consent/fhir/codings.py", "'record.psychiatric_diagnosis'") in found
    assert ("core/cpr.py", "'replacement_cpr.invalid'") in found
    assert ("consent/audit/partitions.py", "'audit.archive_month_not_over'") in found
    assert ("core/fhir/resources.py", "f'search.{first}_required'") in found


def test_every_refusal_built_from_values_has_a_template_and_its_params() -> None:
    assert _problems() == []


def test_what_waits_for_a_template_still_has_a_danish_sentence() -> None:
    pending = {code for _where, code in PENDING}
    assert pending <= set(BY_CODE)
    still_built = {
        (where, code.value)
        for where, _line, code, call in _value_built_refusals()
        if isinstance(code, ast.Constant) and not any(k.arg == "params" for k in call.keywords)
    }
    # Given params and a template meanwhile: take it off the list.
    assert still_built >= PENDING, sorted(PENDING - still_built)


def test_a_template_is_filled_in_the_active_language() -> None:
    error = InvalidInput(
        "search.param_invalid",
        "subject must be Patient/<internal id> or the id.",
        params={"name": "subject", "kind": "Patient", "expected": REFERENCE_OR_ID},
    )
    with translation.override("da"):
        assert user_message(error) == "subject skal være Patient/<id> eller <id>."
    with translation.override("en"):
        assert user_message(error) == "subject must be Patient/<id> or <id>."


def test_a_cpr_number_a_client_typed_into_a_value_is_masked() -> None:
    # A page shows the sentence without the API's scrubbing of the body.
    error = InvalidInput(
        "search.param_unknown",
        "Unsupported search parameter(s): 0101901234.",
        params={"names": "0101901234, 010190-1234", "supported": "name"},
    )
    for language in ("da", "en"):
        with translation.override(language):
            shown = user_message(error)
        assert "0101901234" not in shown and "010190-1234" not in shown, shown
        assert "[cpr]" in shown


def test_a_status_in_a_refusal_reads_as_its_danish_label() -> None:
    from django.utils.text import format_lazy

    from acute.models import Outcome, Referral, Visit
    from core.errors import Conflict
    from core.messages import BE_WITHDRAWN, BECOME, labels, lowercase

    step = Conflict(
        "visit.transition_not_allowed",
        "A visit that is completed cannot become en_route.",
        params={
            "status": lowercase(Visit.Status.COMPLETED.label),
            "step": format_lazy(BECOME, target=lowercase(Visit.Status.EN_ROUTE.label)),
        },
    )
    withdrawn = Conflict(
        "visit.transition_not_allowed",
        "A visit that is on_site cannot be withdrawn.",
        params={"status": lowercase(Visit.Status.ON_SITE.label), "step": BE_WITHDRAWN},
    )
    triaged = Conflict(
        "referral.already_triaged",
        "The referral is already declined.",
        params={"status": lowercase(Referral.Status.DECLINED.label)},
    )
    outcome = InvalidInput(
        "visit.outcome_unknown",
        "Outcome must be one of …",
        params={"values": labels(Outcome.labels)},
    )
    with translation.override("da"):
        assert user_message(step) == "Besøget er afsluttet og kan ikke sættes til på vej."
        assert user_message(withdrawn) == "Besøget er på stedet og kan ikke trækkes tilbage."
        assert user_message(triaged) == "Henvisningen er allerede afvist."
        assert user_message(outcome).startswith("Vælg et udfald: behandlet i hjemmet, indlagt,")
    with translation.override("en"):
        assert user_message(step) == "A visit that is completed cannot become en route."
        assert user_message(triaged) == "The referral is already declined."
