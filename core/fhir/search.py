"""FHIR R4 search values every type reads the same way (search.html#token).

A token is ``[system]|[code]``, ``|[code]`` or ``[code]``:

- ``code`` alone: that code in any system;
- ``system|code``: that code in that system;
- ``|code``: that code with *no* system;
- ``system|``: any code in that system.

One parser (:func:`token`) for every token parameter, so that ``|I10`` never
means "I10 in any system" on one type and "I10 without a system" on another.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q

from core.errors import InvalidInput
from core.messages import TOKEN_FORMS


@dataclass(frozen=True)
class Token:
    """``system`` is ``None`` for any system, ``""`` for none; ``code`` is
    ``None`` for any code in ``system``."""

    system: str | None
    code: str | None

    def matches(self, *, system: str, code: str) -> bool:
        """Whether a coding (``""`` where it has no system) is what was asked."""
        return (self.system is None or self.system == system) and (
            self.code is None or self.code == code
        )

    def q(self, *, system_field: str | None, code_field: str, implied_system: str = "") -> Q:
        """The rows whose coding matches. ``system_field`` is the column that
        holds a coding's system; a type whose codes all come from one code
        system names it as ``implied_system`` instead."""
        # Not the empty Q: "or"-ed with another, an empty Q is dropped, not "every row".
        where = Q(pk__isnull=False)
        if self.system is not None:
            if system_field is not None:
                where &= Q(**{system_field: self.system})
            elif self.system != implied_system:
                return Q(pk__in=[])
        if self.code is not None:
            where &= Q(**{code_field: self.code})
        return where


def token(name: str, raw: str) -> Token:
    """One value of the token parameter ``name`` (a comma-separated list is
    split by the caller). A value with neither a system nor a code (``|``)
    names nothing and is refused."""
    value = str(raw).strip()
    if "|" not in value:
        if not value:
            raise _invalid(name)
        return Token(system=None, code=value)
    # A code may hold no "|" (FHIR escapes one as "\|"): the last bar splits.
    system, _, code = value.rpartition("|")
    system, code = system.strip(), code.strip()
    if not system and not code:
        raise _invalid(name)
    return Token(system=system, code=code or None)


def _invalid(name: str) -> InvalidInput:
    return InvalidInput(
        "search.param_invalid",
        f"{name} must be code, system|code, |code or system|.",
        field=name,
        params={"name": name, "expected": TOKEN_FORMS},
    )
