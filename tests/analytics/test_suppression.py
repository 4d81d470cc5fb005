"""Small-cell suppression, on random tables with totals: nothing from 1 to 10 is shown, and
no withheld cell can be worked out from what is shown (checked here independently, by
solving for each withheld cell with the shown cells substituted)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from inventory.suppression import Line, suppress

TOTAL = "total"


def table_with_margins(grid: list[list[int]]) -> tuple[dict, list[Line]]:
    """A grid of counts, each row's total in column TOTAL, each column's total in row
    TOTAL, and the grand total: the shape of the equity tables."""
    cells: dict = {}
    lines: list[Line] = []
    n_cols = len(grid[0])
    for r, row in enumerate(grid):
        for c, n in enumerate(row):
            cells[(r, c)] = n
        cells[(r, TOTAL)] = sum(row)
        lines.append(Line(tuple((r, c) for c in range(n_cols)), (r, TOTAL)))
    for c in [*range(n_cols), TOTAL]:
        cells[(TOTAL, c)] = sum(cells[(r, c)] for r in range(len(grid)))
        lines.append(Line(tuple((r, c) for r in range(len(grid))), (TOTAL, c)))
    return cells, lines


def recoverable(cells: dict, lines: list[Line], hidden: set) -> list:
    """Withheld cells whose value every solution of the equations agrees on."""
    unknowns = sorted(hidden, key=repr)
    if not unknowns:
        return []
    index = {k: i for i, k in enumerate(unknowns)}
    a = []
    for line in lines:
        row = np.zeros(len(unknowns))
        for key in line.parts:
            if key in index:
                row[index[key]] += 1
        if line.total in index:
            row[index[line.total]] -= 1
        a.append(row)
    system = np.array(a)
    rank = np.linalg.matrix_rank(system)
    found = []
    for key in unknowns:
        probe = np.zeros(len(unknowns))
        probe[index[key]] = 1
        if np.linalg.matrix_rank(np.vstack([system, probe])) == rank:
            found.append(key)
    return found


grids = st.integers(1, 5).flatmap(lambda cols: st.lists(
    st.lists(st.integers(0, 40), min_size=cols, max_size=cols), min_size=1, max_size=6))


@settings(max_examples=300, deadline=None)
@given(grids)
def test_no_small_count_is_shown_and_no_withheld_count_can_be_recovered(grid) -> None:
    cells, lines = table_with_margins(grid)
    hidden = suppress(cells, lines)
    assert all(not 0 < n < 11 for key, n in cells.items() if key not in hidden)
    assert recoverable(cells, lines, hidden) == []


@settings(max_examples=100, deadline=None)
@given(grids)
def test_a_table_with_no_small_count_is_shown_whole(grid) -> None:
    big = [[n if n == 0 or n >= 11 else n + 11 for n in row] for row in grid]
    cells, lines = table_with_margins(big)
    assert suppress(cells, lines) == set()


def test_one_small_group_takes_the_next_smallest_with_it() -> None:
    # Spanish 4 of 60: alone it would be 60 - 30 - 26; the next smallest (26) goes too.
    cells = {"en": 30, "es": 4, "zh": 26, "all": 60}
    hidden = suppress(cells, [Line(("en", "es", "zh"), "all")])
    assert hidden == {"es", "zh"}


def test_a_cell_withheld_in_another_table_stays_withheld() -> None:
    cells = {"a": 20, "b": 30, "all": 50}
    assert suppress(cells, [Line(("a", "b"), "all")], also={"all"}) == {"all", "a"}
