"""The quarterly packet: one self-contained HTML page a county can file, print or send, with
the measures of a quarter, their fixed definitions and the suppression rule.

    bedfinder report --packet 2026Q3 --out packet-2026Q3.html

Two counties running Bedfinder compare like with like because the packet states the same
definitions (docs/measures.md) and applies the same suppression everywhere. Charts are SVG
drawn by matplotlib (a `Figure`, no pyplot state) and inlined; the page loads nothing.
"""

from __future__ import annotations

import io
import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from importlib.metadata import version
from pathlib import Path
from typing import Any

import matplotlib
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup
from matplotlib.figure import Figure
from sqlalchemy.ext.asyncio import async_sessionmaker

from inventory.config import Settings
from inventory.errors import Invalid
from inventory.measures import Question, Table, answer
from inventory.outcomes import DERIVED, SUPPRESSED
from inventory.suppression import SMALLEST_SHOWN

QUARTER = re.compile(r"^(\d{4})Q([1-4])$")
PACKET_MEASURES = ("outcomes", "unmet_by_need", "zero_hours", "occupancy", "transitions",
                   "holds", "referrals", "freshness")
TEMPLATES = Path(__file__).resolve().parent / "templates"
INK, ACCENT = "#1b1f24", "#0b5cad"


@dataclass(frozen=True)
class Quarter:
    name: str
    first: date
    last: date  # included


def parse_quarter(text: str) -> Quarter:
    """`2026Q3` -> 1 July to 30 September 2026; Invalid for anything else."""
    found = QUARTER.match(text.strip().upper())
    if not found:
        raise Invalid(f"a quarter is written like 2026Q3, got {text!r}")
    year, number = int(found[1]), int(found[2])
    first = date(year, 3 * number - 2, 1)
    after = date(year + (number == 4), 1 if number == 4 else 3 * number + 1, 1)
    return Quarter(f"{year}Q{number}", first, after - timedelta(days=1))


async def gather(sessions: async_sessionmaker, q: Question) -> dict[str, Table]:
    return {name: await answer(name, sessions, q) for name in PACKET_MEASURES}


def render(quarter: Quarter, q: Question, tables: dict[str, Table], settings: Settings,
           now: datetime) -> str:
    """The packet's HTML: headline, equity tables, charts, definitions, notes."""
    names = settings.level_names()
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape())
    outcomes = tables["outcomes"]
    headline = next(r for r in outcomes.rows if r["dimension"] == "all")
    return env.get_template("packet.html").render(
        quarter=quarter, q=q, now=now.astimezone(UTC), headline=headline,
        outcome_groups=_by_dimension(outcomes), demand_groups=_by_dimension(
            tables["unmet_by_need"]), suppressed=outcomes.suppressed
        + tables["unmet_by_need"].suppressed, smallest=SMALLEST_SHOWN, marker=SUPPRESSED,
        derived=DERIVED, lapses=_lapses(tables["transitions"], names),
        holds=next((r for r in tables["holds"].rows if r["level"] == "all"), None),
        referrals=next((r for r in tables["referrals"].rows if r["level"] == "all"), None),
        stale=tables["freshness"].rows[:10],
        zero_chart=_svg(_zero_chart(tables["zero_hours"], names)),
        occupancy_chart=_svg(_occupancy_chart(tables["occupancy"], names)),
        crisis=[names.get(c, c) for c in settings.analytics.crisis_levels],
        race_recorded=settings.analytics.record_race_ethnicity,
        purge_days=settings.purge_client_refs_days, version=version("bedfinder"))


def _by_dimension(table: Table) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in table.rows:
        out[row["dimension"]].append(row)
    return dict(out)


def _lapses(table: Table, names: dict[str, str]) -> list[dict[str, Any]]:
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for r in table.rows:
        acc = totals[r["to_level"] or ""]
        acc[0] += r["registered"]
        acc[1] += r["lapsed"]
        acc[2] += r["lapsed_while_to_level_full"]
    rows: list[dict[str, Any]] = [{"level": names.get(k, k or "none"), "registered": n, "lapsed": lapsed,
             "while_full": full} for k, (n, lapsed, full) in totals.items()]
    # The same small-cell rule as the equity tables, without totals to protect here.
    for r in rows:
        for key in ("registered", "lapsed", "while_full"):
            if 0 < r[key] < SMALLEST_SHOWN:
                r[key] = SUPPRESSED
    return sorted(rows, key=lambda r: r["level"])


def _zero_chart(table: Table, names: dict[str, str]) -> Figure | None:
    hours: dict[str, float] = defaultdict(float)
    for r in table.rows:
        hours[r["level"]] += r["hours_at_zero"] or 0
    ranked = sorted(((h, lv) for lv, h in hours.items() if h > 0), reverse=True)[:12]
    if not ranked:
        return None
    fig = Figure(figsize=(7, 0.35 * len(ranked) + 1.0))
    ax = fig.subplots()
    ax.barh([names.get(lv, lv) for _, lv in ranked][::-1], [h for h, _ in ranked][::-1],
            color=ACCENT)
    ax.set_xlabel("Hours with no bed available in the quarter")
    _tidy(ax)
    fig.tight_layout()
    return fig


def _occupancy_chart(table: Table, names: dict[str, str]) -> Figure | None:
    """Small multiples: one panel per level, the same 0-100 % axis, fullest first."""
    series: dict[str, list[tuple[str, float]]] = defaultdict(list)
    for r in table.rows:
        if r["occupancy"] is not None:
            series[r["level"]].append((r["period_start"], r["occupancy"] * 100))
    if not series:
        return None
    order = sorted(series, key=lambda lv: (lv != "all", -sum(v for _, v in series[lv])
                                           / len(series[lv])))
    cols = 4
    rows = -(-len(order) // cols)
    fig = Figure(figsize=(8, 1.5 * rows + 0.3))
    axes = fig.subplots(rows, cols, sharey=True, squeeze=False)
    for ax, level in zip(axes.flat, order, strict=False):
        points = sorted(series[level])
        ax.plot(range(len(points)), [v for _, v in points], color=ACCENT, linewidth=1.5)
        ax.set_ylim(0, 100)
        ax.set_title("All levels" if level == "all" else names.get(level, level),
                     fontsize=8, loc="left")
        ax.set_xticks([])
        _tidy(ax)
    for ax in list(axes.flat)[len(order):]:
        ax.set_visible(False)
    fig.tight_layout()
    return fig


def _tidy(ax: Any) -> None:
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.tick_params(labelsize=8, colors=INK)


def _svg(fig: Figure | None) -> Markup | None:
    """The figure as inline SVG: text stays text (searchable, small), ids are stable."""
    if fig is None:
        return None
    out = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "bedfinder"}):
        fig.savefig(out, format="svg", metadata={"Date": None})
    text = out.getvalue()
    return Markup(text[text.index("<svg"):])  # matplotlib escapes the text it writes
