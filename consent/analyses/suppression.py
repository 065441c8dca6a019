"""Primary and complementary suppression of a released table: no value below
the minimum cell size is published, nor a total that would give one away.
Computed from the noisy table alone, so it costs no privacy."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

Key = tuple[Any, ...]


def suppress(
    counts: list[list[int]], min_cell: int
) -> tuple[list[list[int | None]], list[int | None], list[int | None], int | None]:
    """Primary and complementary suppression of a table with its margins.

    Every value below ``min_cell`` is hidden (the counts are noisy, so zero
    and negatives too). Every published total is a *line* of parts (a row of
    cells, a column of cells, the rows' totals, the columns' totals). A shown
    total with exactly one hidden part would reveal it, so a second part is
    hidden; a hidden total whose parts are all shown would be revealed by
    adding them, so one part is hidden. Repeated until nothing changes, and
    then until no hidden value follows from the published ones taken together
    (:func:`derivable`).
    """
    n_rows = len(counts)
    n_cols = len(counts[0]) if counts else 0
    value: dict[Key, int] = {}
    for r in range(n_rows):
        for c in range(n_cols):
            value[("cell", r, c)] = counts[r][c]
        value[("row", r)] = sum(counts[r])
    for c in range(n_cols):
        value[("col", c)] = sum(counts[r][c] for r in range(n_rows))
    value[("grand",)] = sum(sum(row) for row in counts)
    hidden = {key: v < min_cell for key, v in value.items()}
    lines: list[tuple[Key, list[Key]]] = [
        (("row", r), [("cell", r, c) for c in range(n_cols)]) for r in range(n_rows)
    ]
    lines += [(("col", c), [("cell", r, c) for r in range(n_rows)]) for c in range(n_cols)]
    lines.append((("grand",), [("row", r) for r in range(n_rows)]))
    lines.append((("grand",), [("col", c) for c in range(n_cols)]))

    lines_of: dict[Key, list[list[Key]]] = {}
    for _, parts in lines:
        for k in parts:
            lines_of.setdefault(k, []).append(parts)

    def pairs_up(key: Key, current: list[Key]) -> int:
        """0 if hiding ``key`` also protects another line's lone hidden part."""
        lone = any(
            sum(1 for k in line if hidden[k]) == 1
            for line in lines_of.get(key, [])
            if line is not current
        )
        return 0 if lone else 1

    def hide_another(total: Key, parts: list[Key]) -> bool:
        shown = [k for k in parts if not hidden[k]]
        if shown:
            hidden[min(shown, key=lambda k: (pairs_up(k, parts), value[k]))] = True
            return True
        if not hidden[total]:
            hidden[total] = True
            return True
        return False

    while True:
        changed = True
        while changed:
            changed = False
            for total, parts in lines:
                n_hidden = sum(1 for k in parts if hidden[k])
                if (not hidden[total] and n_hidden == 1) or (hidden[total] and n_hidden == 0):
                    changed |= hide_another(total, parts)
        # No line gives a hidden value away on its own; several together still
        # may (two rows' totals less a column's gives the cells left). Hide a
        # further value beside one that follows, until none does.
        derived = derivable(lines, hidden)
        if not derived:
            break
        near = {
            k for total, parts in lines if derived[0] in (total, *parts) for k in (total, *parts)
        }
        candidates = [k for k in near if not hidden[k]] or [k for k in value if not hidden[k]]
        hidden[min(candidates, key=lambda k: (value[k], k))] = True

    def shown(key: Key) -> int | None:
        return None if hidden[key] else value[key]

    return (
        [[shown(("cell", r, c)) for c in range(n_cols)] for r in range(n_rows)],
        [shown(("row", r)) for r in range(n_rows)],
        [shown(("col", c)) for c in range(n_cols)],
        shown(("grand",)),
    )


def derivable(lines: list[tuple[Key, list[Key]]], hidden: dict[Key, bool]) -> list[Key]:
    """The hidden values that the published ones determine exactly: each line
    says its total is the sum of its parts, and a hidden value follows when
    some combination of these equations leaves it alone (its unit vector lies
    in their row space over the hidden values; Gauss-Jordan, exact)."""
    unknown = [k for k in hidden if hidden[k]]
    column = {k: i for i, k in enumerate(unknown)}
    rows: list[list[Fraction]] = []
    for total, parts in lines:
        row = [Fraction(0)] * len(unknown)
        for k, sign in ((total, 1), *((p, -1) for p in parts)):
            if k in column:
                row[column[k]] += sign
        if any(row):
            rows.append(row)
    pivots: list[int] = []
    for col in range(len(unknown)):
        at = next((i for i in range(len(pivots), len(rows)) if rows[i][col]), None)
        if at is None:
            continue
        top = len(pivots)
        rows[top], rows[at] = rows[at], rows[top]
        lead = rows[top][col]
        rows[top] = [x / lead for x in rows[top]]
        for i, row in enumerate(rows):
            if i != top and row[col]:
                factor = row[col]
                rows[i] = [a - factor * b for a, b in zip(row, rows[top], strict=True)]
        pivots.append(col)
    return [unknown[col] for i, col in enumerate(pivots) if sum(1 for x in rows[i] if x) == 1]
