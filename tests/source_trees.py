"""The platform's Python files read as syntax trees, for the tests that hold
every refusal in the code to its wording.

CPython 3.11 up to 3.11.7 keeps the depth counter of its syntax-tree
conversion per interpreter rather than per thread, and a conversion elsewhere
in the test process (3.11 parses a failing line to underline it in a
traceback, in whatever thread formats it) can leave it off for a moment: a
parse here then fails with ``SystemError: AST constructor recursion depth
mismatch`` although the file is sound. Such a parse is tried again; a real
syntax error is not.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

ATTEMPTS = 3


@cache
def syntax_tree(path: Path) -> ast.Module:
    """``path`` parsed, read once per test process (the callers only read it)."""
    source = path.read_text(encoding="utf-8")
    for _ in range(ATTEMPTS - 1):
        try:
            return ast.parse(source, filename=str(path))
        except SystemError:
            continue
    return ast.parse(source, filename=str(path))
