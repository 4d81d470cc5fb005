"""Small-cell suppression: no published count of 1 to 10 people, and none recoverable.

Public health reporting (CMS's cell size policy, CDC WONDER) withholds any count of 1 to 10
people. Withholding one cell is not enough when totals are published: a cell is the total
minus the other cells of its line. So after the primary cells are withheld, more cells are
withheld (complementary suppression) until no withheld cell is determined by the published
cells and the table's equations (each line: its parts add up to its total).

"Determined" is checked exactly, by linear algebra: the withheld cells are unknowns, each
line one equation, and a withheld cell is recoverable when its unit vector lies in the row
space of the equations restricted to the unknowns. Bounds (counts are not negative) can
still narrow a withheld cell to a range; like the agencies' rules, this does not hide that.

Cost: a singular value decomposition of a (lines x withheld cells) matrix per candidate
tried; the analytics tables have at most a few hundred cells, so a table takes well under
a second.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

SMALLEST_SHOWN = 11  # counts of 1 to SMALLEST_SHOWN - 1 are withheld; 0 is shown


@dataclass(frozen=True)
class Line:
    """One equation of a table: the parts add up to the total."""

    parts: tuple[Hashable, ...]
    total: Hashable


def is_small(count: int | None) -> bool:
    return count is not None and 0 < count < SMALLEST_SHOWN


def suppress(cells: Mapping[Hashable, int], lines: Iterable[Line],
             also: Iterable[Hashable] = ()) -> set[Hashable]:
    """The cells to withhold: every count of 1 to 10, the cells in `also` (withheld
    elsewhere, e.g. a total shared with another table), and complements until no withheld
    cell can be worked out from the shown ones. Complements are the smallest non-zero
    counts that hide a recoverable cell, so as little as possible is lost."""
    lines = [line for line in lines if line.parts]
    hidden = {key for key, n in cells.items() if is_small(n)} | set(also)
    while True:
        exposed = _recoverable(hidden, lines)
        if not exposed:
            return hidden
        hidden.add(_complement(exposed, hidden, lines, cells))


def _recoverable(hidden: set[Hashable], lines: Sequence[Line],
                 only: Hashable | None = None) -> Hashable | None:
    """A withheld cell (or just `only`) the shown cells determine, or None. A cell is
    determined exactly when every solution of the homogeneous system agrees on it: its
    coordinate is zero in every vector of the null space of the equations restricted to the
    withheld cells."""
    unknowns = sorted(hidden, key=repr)
    index = {key: i for i, key in enumerate(unknowns)}
    rows = []
    for line in lines:
        row = np.zeros(len(unknowns))
        for part in line.parts:
            if part in index:
                row[index[part]] += 1
        if line.total in index:
            row[index[line.total]] -= 1
        if row.any():
            rows.append(row)
    if not rows:
        return None
    _, singular, vt = np.linalg.svd(np.array(rows))
    null_space = vt[int((singular > 1e-9).sum()):]
    for key in [only] if only is not None else unknowns:
        if not null_space.size or np.all(np.abs(null_space[:, index[key]]) < 1e-9):
            return key
    return None


def _complement(exposed: Hashable, hidden: set[Hashable], lines: Sequence[Line],
                cells: Mapping[Hashable, int]) -> Hashable:
    """The shown cell to withhold next: the smallest non-zero count (zeros last) among the
    cells on lines with a withheld cell, taking the first that hides the exposed cell;
    if none does alone, the smallest, and the loop goes on."""
    candidates = sorted({key for line in lines if hidden & {*line.parts, line.total}
                         for key in (*line.parts, line.total)
                         if key not in hidden and key in cells},
                        key=lambda key: (cells[key] == 0, cells[key], repr(key)))
    if not candidates:  # every cell of every line is withheld already
        raise AssertionError(f"cell {exposed!r} is recoverable with nothing left to withhold")
    for key in candidates:
        if _recoverable(hidden | {key}, lines, only=exposed) is None:
            return key
    return candidates[0]
