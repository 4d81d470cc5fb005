"""`bedfinder report --packet QUARTER`: one self-contained HTML page with the quarter's
measures, charts as inline SVG, the definitions, and small cells suppressed."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker

from inventory.errors import Invalid
from tests.analytics.test_outcomes import seed
from tests.analytics.test_report_cli import report
from web.packet import parse_quarter


def test_a_quarter_is_three_whole_months() -> None:
    q3 = parse_quarter("2026Q3")
    assert (q3.first, q3.last) == (date(2026, 7, 1), date(2026, 9, 30))
    q4 = parse_quarter("2025q4")
    assert (q4.name, q4.first, q4.last) == ("2025Q4", date(2025, 10, 1), date(2025, 12, 31))
    for bad in ("2026Q5", "2026-Q3", "Q3", ""):
        with pytest.raises(Invalid, match="like 2026Q3"):
            parse_quarter(bad)


async def test_the_packet_is_one_page_with_measures_definitions_and_suppression(
        directory: async_sessionmaker, database_url: str, tmp_path: Path) -> None:
    await seed(directory)  # 30 transitions on 2 March 2026: the first quarter
    target = tmp_path / "packet.html"
    code, said = await report(database_url, "--packet", "2026Q1", "--out", str(target))
    assert code == 0, said
    assert "wrote the 2026Q1 packet" in said
    page = target.read_text(encoding="utf-8")
    # Self-contained: nothing fetched, no script; the charts are inline SVG.
    assert not re.search(r"""(src|href)=["']?https?:""", page)
    assert "<script" not in page and "<link" not in page
    assert page.count("<svg") == 2  # hours at zero, occupancy small multiples
    assert "2026-01-01 to 2026-03-31" in page and "Definitions version 1" in page
    for term in ("Share lapsed", "Hours ready → landed", "Back in crisis ≤ 30 days",
                 "Suppression"):
        assert f"<dt>{term}</dt>" in page
    # The headline: 30 transitions, and the 3 returns registered from crisis in March;
    # 20 landed, median 10.5 h; lapsed (6) withheld.
    headline = page[page.index('class="headline"'):page.index('id="equity"')]
    cells = re.findall(r"<td>(.*?)</td>", headline)
    assert cells[:2] == ["33", "20"] and "10.5" in cells
    assert 'title="Suppressed"' in headline
    # Spanish speakers (9 people) are withheld, and so are the 3 with no language recorded.
    assert re.search(r'<td>es</td><td><span class="s"', page)
    assert re.search(r'<td>not recorded</td><td><span class="s"', page)
    assert not re.search(r"<td>(?:[1-9]|10)</td>", page[page.index('id="equity"'):
                                                       page.index('id="demand"')])


async def test_a_bad_quarter_is_refused_and_nothing_written(database_url: str,
                                                            tmp_path: Path) -> None:
    code, said = await report(database_url, "--packet", "2026Q7", "--out",
                              str(tmp_path / "p.html"))
    assert code == 2 and "like 2026Q3" in said
    assert not (tmp_path / "p.html").exists()
