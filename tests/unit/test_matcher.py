"""The matcher: a pure, deterministic ranking whose reasons explain the order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from inventory.directory import ProgramInfo, UnitInfo
from inventory.eligibility import Narrowing
from inventory.errors import Invalid
from inventory.matcher import Needs, Words, rank, target_levels
from inventory.model import UnitState

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
PATHWAYS = {"withdrawal_management": ["residential_sud", "recovery_residence"]}


def program(pid: str, level: str = "residential_sud", **kw: object) -> ProgramInfo:
    base: dict = {
        "id": pid, "organization_id": "org", "organization_name": "Org", "name": pid.title(),
        "description": "", "level_of_care": level, "asam_level": None, "area": "Mission",
        "address": None, "latitude": 37.76, "longitude": -122.42, "phone": None,
        "genders": ("female", "male", "nonbinary"), "age_min": 18, "age_max": 64,
        "payers": ("medi-cal",), "languages": ("en",), "mat": ("buprenorphine",),
        "wheelchair": False, "pets": False, "co_occurring": True, "involuntary": False,
        "secure": False, "cadence_minutes": 240,
        "units": (UnitInfo(f"u-{pid}", pid, "Beds", "bed", 10),)}
    base.update(kw)
    return ProgramInfo(**base)


def state(pid: str, available: int, age_minutes: int = 5, waitlist: int = 0,
          discharges: list | None = None) -> UnitState:
    return UnitState(id=f"u-{pid}", program_id=pid, organization_id="org",
                     available=available, held=0, waitlist=waitlist, capacity=10,
                     updated_at=NOW - timedelta(minutes=age_minutes), updated_by="p",
                     source="api", seq=1, expected_discharges=discharges or [])


ANYONE = Needs()


def ranked(programs: list[ProgramInfo], states: list[UnitState], needs: Needs = ANYONE,
           ready_at: datetime = NOW) -> list[str]:
    options = rank(programs, {s.id: s for s in states}, needs,
                   ["residential_sud", "recovery_residence"], ready_at, NOW, 240)
    return [o.program.id for o in options]


def test_pathway_decides_the_levels_looked_at() -> None:
    assert target_levels("withdrawal_management", PATHWAYS, []) == [
        "residential_sud", "recovery_residence"]
    with pytest.raises(Invalid, match="unknown from_level"):
        target_levels("spa_day", PATHWAYS, [])


def test_ineligible_programs_are_never_offered() -> None:
    programs = [program("women", genders=("female",)), program("young", age_min=18, age_max=25),
                program("private", payers=("private",)), program("nomat", mat=())]
    needs = Needs(gender="male", age=34, payer="medi-cal", mat="buprenorphine")
    assert ranked(programs, [state(p.id, 3) for p in programs], needs) == []


def test_free_beds_now_outrank_beds_expected_later_which_outrank_none() -> None:
    soon = [{"at": (NOW + timedelta(hours=3)).isoformat(), "count": 2}]
    programs = [program("none"), program("later"), program("now")]
    states = [state("none", 0), state("later", 0, discharges=soon), state("now", 1)]
    assert ranked(programs, states, ready_at=NOW + timedelta(hours=6)) == [
        "now", "later", "none"]
    options = rank(programs, {s.id: s for s in states}, Needs(), ["residential_sud"],
                   NOW + timedelta(hours=6), NOW, 240)
    later = next(o for o in options if o.program.id == "later")
    assert (later.available_now, later.expected_by_ready_at) == (0, 2)
    assert any("expected" in r for r in later.reasons)


def test_discharges_after_ready_at_do_not_count() -> None:
    late = [{"at": (NOW + timedelta(days=3)).isoformat(), "count": 4}]
    options = rank([program("p")], {"u-p": state("p", 0, discharges=late)}, Needs(),
                   ["residential_sud"], NOW + timedelta(hours=1), NOW, 240)
    assert options[0].expected_by_ready_at == 0


def test_stale_counts_rank_lower_and_say_so() -> None:
    programs = [program("stale"), program("fresh")]
    states = [state("stale", 3, age_minutes=600), state("fresh", 3)]
    assert ranked(programs, states) == ["fresh", "stale"]
    options = rank(programs, {s.id: s for s in states}, Needs(), ["residential_sud"], NOW,
                   NOW, 240)
    assert any("call to confirm" in r for r in options[1].reasons) and options[1].stale


def test_language_and_distance_and_waitlist_move_the_order() -> None:
    programs = [program("far", latitude=37.70, longitude=-122.47),
                program("near", latitude=37.765, longitude=-122.42),
                program("spanish", latitude=37.70, longitude=-122.47, languages=("en", "es")),
                program("queue", latitude=37.765, longitude=-122.42)]
    states = [state(p.id, 2, waitlist=6 if p.id == "queue" else 0) for p in programs]
    order = ranked(programs, states, Needs(language="es", near=(37.765, -122.42)))
    assert order.index("spanish") < order.index("far")
    assert order.index("near") < order.index("far")
    assert order.index("near") < order.index("queue")


def test_pathway_order_breaks_ties_between_levels() -> None:
    programs = [program("rr", level="recovery_residence"), program("res")]
    assert ranked(programs, [state("rr", 2), state("res", 2)]) == ["res", "rr"]


def test_same_input_same_ranking() -> None:
    programs = [program(f"p{i}", latitude=37.7 + i / 100) for i in range(20)]
    states = [state(p.id, i % 3, age_minutes=i * 37) for i, p in enumerate(programs)]
    assert ranked(programs, states) == ranked(list(reversed(programs)), states[::-1])


def test_every_option_says_what_would_disqualify() -> None:
    options = rank([program("w", genders=("female",))], {"u-w": state("w", 1)}, Needs(),
                   ["residential_sud"], NOW, NOW, 240)
    rules = options[0].would_disqualify
    assert "serves female clients only" in rules and "ages 18-64" in rules


def test_reasons_name_the_level_as_people_do_and_count_slots_for_slot_levels() -> None:
    words = Words(names={"residential_sud": "Residential treatment",
                         "intensive_outpatient": "Intensive outpatient"})
    iop = program("iop", level="intensive_outpatient",
                  units=(UnitInfo("u-iop", "iop", "Groups", "slot", 10),))
    options = rank([program("res"), iop], {"u-res": state("res", 2), "u-iop": state("iop", 3)},
                   Needs(), ["residential_sud", "intensive_outpatient"], NOW, NOW, 240,
                   words=words)
    by_id = {o.program.id: o.reasons for o in options}
    assert by_id["res"][:2] == ["Residential treatment is the next step", "2 beds free now"]
    assert by_id["iop"][:2] == ["Intensive outpatient is another next step (choice 2 of 2)",
                                "3 slots free now"]


def test_check_before_referring_lists_only_what_is_unknown() -> None:
    p = program("w", genders=("female",), payers=("medi-cal",))
    unknown = rank([p], {"u-w": state("w", 1)}, Needs(), ["residential_sud"], NOW, NOW,
                   240)[0].would_disqualify
    assert {"serves female clients only", "ages 18-64", "payers: medi-cal",
            "no wheelchair-accessible room", "no pets"} <= set(unknown)
    known = rank([p], {"u-w": state("w", 1)},
                 Needs(gender="female", age=30, payer="medi-cal", mat="buprenorphine",
                       wheelchair=False, pets=False, co_occurring=True),
                 ["residential_sud"], NOW, NOW, 240)[0].would_disqualify
    assert known == []


def test_check_before_referring_names_units_by_label_when_their_population_is_unknown() -> None:
    women = UnitInfo("u-w", "m", "Women's beds", "bed", 8, genders=("female",),
                     own=Narrowing(genders=("female",)))
    men = UnitInfo("u-m", "m", "Men's beds", "bed", 8, genders=("male",),
                   own=Narrowing(genders=("male",)))
    p = program("m", units=(women, men))
    states = {u.id: UnitState(u.id, "m", "org", 1, 0, 0, 8, NOW, "p", "api", 1)
              for u in (women, men)}
    unknown = rank([p], states, Needs(), ["residential_sud"], NOW, NOW, 240)[0]
    assert "Women's beds: women only" in unknown.would_disqualify
    assert "Men's beds: men only" in unknown.would_disqualify
    woman = rank([p], states, Needs(gender="female"), ["residential_sud"], NOW, NOW, 240)[0]
    assert not any("beds:" in c for c in woman.would_disqualify)
    assert woman.available_now == 1 and woman.best_unit_id == "u-w"
