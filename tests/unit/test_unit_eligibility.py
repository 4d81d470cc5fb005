"""Unit-level eligibility: for random directories (programs whose units serve different
populations) and random needs, search and matcher count exactly the free beds of the units
the person can use. The oracle below is written from the program and each unit's own
attributes, not from the effective population the code resolves."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inventory.directory import ProgramInfo, UnitInfo
from inventory.eligibility import (
    GENDERS,
    Narrowing,
    Needs,
    check_narrowing,
    check_needs,
    effective,
    program_admits,
    unit_admits,
    unit_fit,
)
from inventory.errors import Invalid
from inventory.matcher import Needs as MatchNeeds
from inventory.matcher import _score, rank
from inventory.model import UnitState
from inventory.search import Filters, search
from tests.unit.test_matcher import NOW, program

LEVEL = "residential_sud"
MAYBE_BOOL = st.none() | st.booleans()
MAYBE_TRUE = st.none() | st.just(True) | st.just(False)


def unit(p: ProgramInfo, j: int, own: Narrowing, kind: str = "bed") -> UnitInfo:
    pop = effective(p, own)
    return UnitInfo(f"u-{p.id}-{j}", p.id, f"Unit {j}", kind, 10, genders=pop.genders,
                    age_min=pop.age_min, age_max=pop.age_max, wheelchair=pop.wheelchair,
                    involuntary=pop.involuntary, secure=pop.secure, own=own)


@st.composite
def narrowings(draw: st.DrawFn, p: ProgramInfo) -> Narrowing:
    """A unit's own attributes that only narrow `p` (possibly inheriting everything)."""
    genders = None
    if draw(st.booleans()):
        genders = tuple(sorted(draw(st.sets(st.sampled_from(p.genders), min_size=1))))
    low = draw(st.none() | st.integers(p.age_min, p.age_max))
    high = draw(st.none() | st.integers(low if low is not None else p.age_min, p.age_max))
    flags = {name: draw(st.none() | st.just(False) | st.just(getattr(p, name)))
             for name in ("wheelchair", "involuntary", "secure")}
    return Narrowing(genders=genders, age_min=low, age_max=high, **flags)


@st.composite
def directories(draw: st.DrawFn) -> tuple[list[ProgramInfo], dict[str, UnitState]]:
    programs, states = [], {}
    for i in range(draw(st.integers(1, 8))):
        low = draw(st.integers(0, 60))
        p = program(f"p{i}", genders=tuple(sorted(draw(st.sets(st.sampled_from(GENDERS),
                                                               min_size=1)))),
                    age_min=low, age_max=draw(st.integers(low, 120)),
                    payers=tuple(sorted(draw(st.sets(st.sampled_from(["medi-cal", "private"]),
                                                     min_size=1)))),
                    wheelchair=draw(st.booleans()), involuntary=draw(st.booleans()),
                    secure=draw(st.booleans()), harm_reduction=draw(st.booleans()))
        units = tuple(unit(p, j, draw(narrowings(p))) for j in range(draw(st.integers(0, 4))))
        p = replace(p, units=units)
        programs.append(p)
        for u in units:
            available = draw(st.integers(0, 4))
            states[u.id] = UnitState(
                u.id, p.id, "org", available, 0, draw(st.integers(0, 2)), 10,
                NOW - timedelta(minutes=5), "p", "api", 1, expected_discharges=[
                    {"at": (NOW + timedelta(hours=2)).isoformat(),
                     "count": draw(st.integers(0, 2))}])
    return programs, states


NEEDS = st.builds(
    Needs, gender=st.none() | st.sampled_from(GENDERS), age=st.none() | st.integers(0, 120),
    payer=st.none() | st.sampled_from(["medi-cal", "private"]),
    wheelchair=MAYBE_TRUE, involuntary=MAYBE_TRUE, secure=st.none() | st.just(True),
    harm_reduction=MAYBE_TRUE)


def can_use(p: ProgramInfo, u: UnitInfo, n: Needs) -> bool:
    """The oracle: the person meets the program's eligibility and the unit's own."""
    own = u.own
    if n.gender is not None and (n.gender not in p.genders
                                 or (own.genders is not None and n.gender not in own.genders)):
        return False
    if n.age is not None:
        if not p.age_min <= n.age <= p.age_max:
            return False
        if (own.age_min is not None and n.age < own.age_min) or (
                own.age_max is not None and n.age > own.age_max):
            return False
    if n.payer is not None and n.payer not in p.payers:
        return False
    for name in ("wheelchair", "involuntary", "secure"):
        if getattr(n, name) and (not getattr(p, name) or getattr(own, name) is False):
            return False
    return not (n.harm_reduction and not p.harm_reduction)


def filters(n: Needs, **kw: object) -> Filters:
    return Filters(gender=n.gender, age=n.age, payer=n.payer, wheelchair=n.wheelchair,
                   involuntary=n.involuntary, secure=n.secure,
                   harm_reduction=n.harm_reduction, **kw)  # type: ignore[arg-type]


@settings(max_examples=150, deadline=None)
@given(directories(), NEEDS)
def test_search_counts_exactly_the_free_beds_of_units_the_person_can_use(
        directory: tuple[list[ProgramInfo], dict[str, UnitState]], needs: Needs) -> None:
    programs, states = directory
    found = {r.program.id: r for r in search(programs, states, filters(needs), NOW, 240)}
    for p in programs:
        usable = [u for u in p.units if can_use(p, u, needs)]
        admits = can_use(p, UnitInfo("-", p.id, "-", "bed", 0), needs)
        if not admits or (p.units and not usable):
            assert p.id not in found
            continue
        r = found[p.id]
        assert r.available == sum(states[u.id].available for u in usable)
        assert r.waitlist == sum(states[u.id].waitlist for u in usable)
        assert set(r.misfits) == {u.id for u in p.units} - {u.id for u in usable}
        assert all(r.misfits.values())  # every unit left out says why
    only = search(programs, states, filters(needs, available_only=True), NOW, 240)
    assert {r.program.id for r in only} == {pid for pid, r in found.items() if r.available}


@settings(max_examples=150, deadline=None)
@given(directories(), NEEDS)
def test_matcher_counts_and_picks_only_units_the_person_can_use(
        directory: tuple[list[ProgramInfo], dict[str, UnitState]], needs: Needs) -> None:
    programs, states = directory
    person = MatchNeeds(**{k: getattr(needs, k) for k in Needs.__dataclass_fields__})
    options = rank(programs, states, person, [LEVEL], NOW + timedelta(hours=3), NOW, 240,
                   limit=100)
    offered = {o.program.id: o for o in options}
    for p in programs:
        usable = [u for u in p.units if can_use(p, u, needs)]
        admits = can_use(p, UnitInfo("-", p.id, "-", "bed", 0), needs)
        assert (p.id in offered) == (admits and (not p.units or bool(usable)))
        if p.id not in offered:
            continue
        o = offered[p.id]
        free = sum(states[u.id].available for u in usable)
        assert o.available_now == free
        assert o.expected_by_ready_at == free + sum(
            states[u.id].expected_discharges[0]["count"] for u in usable)
        if o.best_unit_id is not None:
            assert o.best_unit_id in {u.id for u in usable}
            assert states[o.best_unit_id].available > 0
        else:
            assert free == 0


@settings(max_examples=150, deadline=None)
@given(directories(), NEEDS)
def test_unit_fit_agrees_with_the_oracle_and_says_why(
        directory: tuple[list[ProgramInfo], dict[str, UnitState]], needs: Needs) -> None:
    for p in directory[0]:
        for u in p.units:
            fit = unit_fit(u, p, needs)
            assert bool(fit) == can_use(p, u, needs)
            assert bool(fit) or fit.sentence().startswith(f"{u.label} does not fit")


@given(st.sets(st.sampled_from(GENDERS), min_size=1), st.sets(st.sampled_from(GENDERS)),
       st.integers(0, 60), st.integers(60, 120), st.integers(0, 120), st.integers(0, 120))
def test_a_unit_may_narrow_but_never_widen_nor_admit_no_one(
        program_genders: set[str], unit_genders: set[str], low: int, high: int,
        unit_low: int, unit_high: int) -> None:
    p = program("p", genders=tuple(sorted(program_genders)), age_min=low, age_max=high)
    own = Narrowing(genders=tuple(sorted(unit_genders)), age_min=unit_low, age_max=unit_high)
    widens = (not unit_genders <= program_genders or unit_low < low or unit_high > high)
    empty = not unit_genders or max(low, unit_low) > min(high, unit_high)
    if widens or empty:
        with pytest.raises(Invalid):
            check_narrowing(p, own, "Women's beds")
    else:
        check_narrowing(p, own, "Women's beds")


def test_widening_names_the_attribute_and_the_unit_label() -> None:
    women_only = program("w", genders=("female",), wheelchair=False)
    with pytest.raises(Invalid, match=r"^genders: unit \"Men's beds\" may not admit men"):
        check_narrowing(women_only, Narrowing(genders=("male",)), "Men's beds")
    with pytest.raises(Invalid, match=r"^wheelchair: unit 'Upstairs'"):
        check_narrowing(women_only, Narrowing(wheelchair=True), "Upstairs")
    with pytest.raises(Invalid, match=r"^age_max: unit 'Elders' may not admit up to age 90"):
        check_narrowing(program("p", age_max=64), Narrowing(age_max=90), "Elders")
    with pytest.raises(Invalid, match="would admit no one"):
        check_narrowing(program("p"), Narrowing(genders=()), "Nobody")


def test_contradictory_or_unknown_needs_are_refused_naming_the_field() -> None:
    with pytest.raises(Invalid, match="^secure: "):
        check_needs(Needs(involuntary=True, secure=False))
    with pytest.raises(Invalid, match="^gender: unknown value 'woman'"):
        check_needs(Needs(gender="woman"))
    with pytest.raises(Invalid, match="^mat: "):
        search([], {}, Filters(mat="heroin"), NOW, 240)
    check_needs(Needs(involuntary=True, secure=True, gender="female", age=30))


def test_a_womens_unit_full_and_a_mens_unit_free_is_not_available_for_a_woman() -> None:
    p = program("bayshore", level="withdrawal_management")
    p = replace(p, units=(unit(p, 0, Narrowing(genders=("female",))),
                          unit(p, 1, Narrowing(genders=("male",)))))
    states = {p.units[0].id: UnitState(p.units[0].id, p.id, "o", 0, 0, 0, 8, NOW, "p", "api",
                                       1),
              p.units[1].id: UnitState(p.units[1].id, p.id, "o", 1, 0, 0, 8, NOW, "p", "api",
                                       2)}
    woman = search([p], states, Filters(gender="female", available_only=True), NOW, 240)
    assert woman == []
    [listed] = search([p], states, Filters(gender="female"), NOW, 240)
    assert listed.available == 0 and listed.misfits == {p.units[1].id: "men only"}
    [man] = search([p], states, Filters(gender="male", available_only=True), NOW, 240)
    assert man.available == 1
    [option] = rank([p], states, MatchNeeds(gender="female"), ["withdrawal_management"],
                    NOW, NOW, 240)
    assert (option.available_now, option.best_unit_id) == (0, None)
    assert "Unit 1 not counted: men only" in option.reasons


@settings(max_examples=150, deadline=None)
@given(directories(), NEEDS,
       st.none() | st.tuples(st.floats(37.6, 38.0), st.floats(-122.6, -122.2)),
       st.none() | st.sampled_from(["en", "es"]), st.integers(0, 600))
def test_quick_score_is_the_score(directory: tuple[list[ProgramInfo], dict[str, UnitState]],
                                  needs: Needs, near: tuple[float, float] | None,
                                  language: str | None, minutes_later: int) -> None:
    """The matcher ranks by `_quick_score` and writes options with `_score`: the order is
    the one `_score` alone gives (score, distance, name, id), for fresh and stale counts."""
    programs, states = directory
    person = MatchNeeds(**{k: getattr(needs, k) for k in Needs.__dataclass_fields__},
                        near=near, language=language)
    now = NOW + timedelta(minutes=minutes_later)
    ready = now + timedelta(hours=3)
    options = rank(programs, states, person, [LEVEL], ready, now, 240, limit=100)
    reference = [_score(p, fitting, states, person, {LEVEL: 0}, ready, now, 240, None)
                 for p in programs if program_admits(p, person)
                 and ((fitting := [u for u in p.units if unit_admits(u, person)])
                      or not p.units)]
    far = float("inf")
    reference.sort(key=lambda o: (-o.score, o.distance_km if o.distance_km is not None
                                  else far, o.program.name, o.program.id))
    assert [(o.program.id, o.score) for o in options] == [
        (o.program.id, o.score) for o in reference]
