"""Search eligibility is exact, checked by hypothesis over generated programs and needs."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from inventory.errors import Invalid
from inventory.hours import check_hours, open_at
from inventory.model import UnitState
from inventory.search import Filters, distance_km, search
from tests.unit.test_matcher import NOW, program

GENDERS = st.sets(st.sampled_from(["female", "male", "nonbinary"]), min_size=1)
PAYERS = st.sets(st.sampled_from(["medi-cal", "medicare", "private", "county"]))


@st.composite
def programs(draw: st.DrawFn) -> list:
    out = []
    for i in range(draw(st.integers(1, 12))):
        low = draw(st.integers(0, 70))
        out.append(program(
            f"p{i}", level=draw(st.sampled_from(["shelter", "residential_sud"])),
            genders=tuple(sorted(draw(GENDERS))), age_min=low,
            age_max=draw(st.integers(low, 120)), payers=tuple(sorted(draw(PAYERS))),
            wheelchair=draw(st.booleans()), latitude=draw(st.floats(37.6, 37.9)),
            longitude=draw(st.floats(-122.6, -122.3))))
    return out


def live(ps: list, available: int, age_minutes: int = 1) -> dict[str, UnitState]:
    return {f"u-{p.id}": UnitState(f"u-{p.id}", p.id, "org", available, 0, 0, 10,
                                   NOW - timedelta(minutes=age_minutes), "x", "api", 1)
            for p in ps}


@given(programs(), st.integers(0, 100), st.sampled_from(["female", "male", "nonbinary"]),
       st.sampled_from(["medi-cal", "medicare", "private", "county"]))
def test_results_are_exactly_the_eligible_programs(ps: list, age: int, gender: str,
                                                    payer: str) -> None:
    found = {r.program.id for r in search(ps, live(ps, 1), Filters(
        age=age, gender=gender, payer=payer), NOW, 240)}
    expected = {p.id for p in ps if p.age_min <= age <= p.age_max and gender in p.genders
                and payer in p.payers}
    assert found == expected


@given(programs(), st.floats(0.5, 20))
def test_within_km_keeps_exactly_the_programs_that_close(ps: list, km: float) -> None:
    here = (37.77, -122.42)
    results = search(ps, live(ps, 1), Filters(near=here, within_km=km, sort="distance"),
                     NOW, 240)
    assert {r.program.id for r in results} == {
        p.id for p in ps if distance_km(here, (p.latitude, p.longitude)) <= km}
    distances = [r.distance_km or 0.0 for r in results]
    assert distances == sorted(distances)


def test_age_17_is_not_served_by_an_adult_program() -> None:
    adult = [program("adult", age_min=18, age_max=64)]
    assert search(adult, live(adult, 1), Filters(age=17), NOW, 240) == []
    assert len(search(adult, live(adult, 1), Filters(age=18), NOW, 240)) == 1


def test_available_only_and_fresh_only() -> None:
    ps = [program("a"), program("b")]
    states = live(ps[:1], 0) | live(ps[1:], 2, age_minutes=9999)
    assert [r.program.id for r in search(ps, states, Filters(available_only=True), NOW,
                                         240)] == ["b"]
    assert [r.program.id for r in search(ps, states, Filters(fresh_only=True), NOW,
                                         240)] == ["a"]


def test_free_text_matches_all_words_of_name_or_description() -> None:
    ps = [program("harbor", name="Harbor Light Detox", search_text="harbor light detox"),
          program("other", name="Other Detox", search_text="other detox")]
    found = search(ps, live(ps, 1), Filters(q="Harbor DETOX"), NOW, 240)
    assert [r.program.id for r in found] == ["harbor"]
    assert len(search(ps, live(ps, 1), Filters(q="detox"), NOW, 240)) == 2


def test_distance_is_great_circle() -> None:
    sf, la = (37.7749, -122.4194), (34.0522, -118.2437)
    assert 550 < distance_km(sf, la) < 565
    assert distance_km(sf, sf) == 0


HOURS = {"timezone": "America/Los_Angeles", "mon": "09:00-17:00", "fri": "20:00-02:00"}


def test_opening_hours_are_read_in_the_programs_time_zone() -> None:
    # NOW is Tuesday 2026-11-24 12:00 UTC = 04:00 in San Francisco.
    monday_10am = NOW - timedelta(days=1) + timedelta(hours=6)
    assert open_at(HOURS, monday_10am) and not open_at(HOURS, NOW)
    friday_11pm = NOW + timedelta(days=3, hours=19)
    saturday_1am = friday_11pm + timedelta(hours=2)
    assert open_at(HOURS, friday_11pm) and open_at(HOURS, saturday_1am)
    assert not open_at(HOURS, saturday_1am + timedelta(hours=2))
    assert open_at(None, NOW)


def test_a_peer_center_closed_now_is_listed_but_not_available() -> None:
    ps = [program("peer", level="peer_center", hours=HOURS)]
    [listed] = search(ps, live(ps, 5), Filters(), NOW, 240)
    assert (listed.open_now, listed.available) == (False, 5)
    assert search(ps, live(ps, 5), Filters(available_only=True), NOW, 240) == []
    monday_10am = NOW - timedelta(days=1) + timedelta(hours=6)
    assert len(search(ps, live(ps, 5), Filters(available_only=True), monday_10am, 240)) == 1


def test_unreadable_hours_are_refused_naming_the_field() -> None:
    with pytest.raises(Invalid, match=r"^hours.tue: '9-5'"):
        check_hours({"timezone": "America/Los_Angeles", "tue": "9-5"})
    with pytest.raises(Invalid, match=r"^hours.timezone: unknown time zone"):
        check_hours({"timezone": "Mars/Olympus"})
    check_hours(HOURS)
