"""Reading FSH text: comments, statements (with their indentation),
quoted strings, cardinalities and paths."""

from __future__ import annotations

import re

from .rules import UNBOUNDED

ENTITY_KEYWORDS = {
    "Profile",
    "Extension",
    "Invariant",
    "CodeSystem",
    "ValueSet",
    "Instance",
    "RuleSet",
    "Mapping",
    "Logical",
    "Resource",
}
ENTITY_FIELDS = {
    "Alias",
    "Id",
    "Parent",
    "Title",
    "Description",
    "InstanceOf",
    "Usage",
    "Expression",
    "Severity",
    "XPath",
    "Source",
    "Target",
    "Context",
    "Characteristics",
}


def _strip_comments(text: str) -> str:
    """Remove ``//`` and ``/* */`` comments, never inside a string and never
    the ``//`` of a URL (a comment starts a line or follows whitespace)."""
    out: list[str] = []
    i, n = 0, len(text)
    in_string = False
    while i < n:
        char = text[i]
        if in_string:
            out.append(char)
            if char == "\\" and i + 1 < n:
                out.append(text[i + 1])
                i += 2
                continue
            if char == '"':
                in_string = False
            i += 1
            continue
        at_boundary = i == 0 or text[i - 1] in " \t\n"
        if char == '"':
            in_string = True
            out.append(char)
            i += 1
        elif at_boundary and text.startswith("//", i):
            end = text.find("\n", i)
            i = n if end < 0 else end
        elif at_boundary and text.startswith("/*", i):
            end = text.find("*/", i + 2)
            i = n if end < 0 else end + 2
        else:
            out.append(char)
            i += 1
    return "".join(out)


def _statements(text: str) -> list[tuple[int, str]]:
    """Logical statements with their indentation: entity lines (``Key: value``)
    and rules (``* ...``); a line that is neither continues the one before."""
    statements: list[tuple[int, str]] = []
    for raw in _strip_comments(text).splitlines():
        if not raw.strip():
            continue
        stripped = raw.lstrip()
        indent = len(raw) - len(stripped)
        head = stripped.split(":", 1)[0]
        starts = stripped.startswith("* ") or stripped == "*"
        entity = ":" in stripped and head in ENTITY_KEYWORDS | ENTITY_FIELDS
        open_string = statements and statements[-1][1].count('"') % 2 == 1
        if statements and (open_string or not (starts or entity)):
            previous_indent, previous = statements[-1]
            joiner = "\n" if open_string else " "
            statements[-1] = (previous_indent, previous + joiner + stripped)
        else:
            statements.append((indent, stripped))
    return statements


def _unquote(value: str) -> str:
    value = value.strip()
    if value.startswith('"""') and value.endswith('"""') and len(value) >= 6:
        return value[3:-3]
    if len(value) >= 2 and value[0] == '"' and value[-1] == '"':
        return value[1:-1].replace('\\"', '"').replace("\\n", "\n")
    return value


_CARD = re.compile(r"^(\d*)\.\.(\d+|\*)?$")


def _cardinality(token: str) -> tuple[int | None, int | None] | None:
    match = _CARD.match(token)
    if not match:
        return None
    low = int(match.group(1)) if match.group(1) else None
    high_text = match.group(2)
    high = None if high_text is None else UNBOUNDED if high_text == "*" else int(high_text)
    return low, high


def _join(context: str, path: str) -> str:
    if not context or context == ".":
        return path
    if not path or path == ".":
        return context
    return f"{context}.{path}"
