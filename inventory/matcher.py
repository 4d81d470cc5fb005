"""Next-phase placement ranking: which programs could take this client next, and why.

A pure function of the directory, the live states, the client's needs, `ready_at` and
`now`: the same input always gives the same ranking. Eligibility excludes; everything else
(beds now, beds expected by `ready_at`, distance, freshness, waitlist, language, the
pathway's order) only moves a program up or down, and each move is said in `reasons`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from inventory import eligibility
from inventory.directory import ProgramInfo, UnitInfo
from inventory.eligibility import (
    GENDER_WORDS,
    LACKS,
    PROGRAM_CAPABILITIES,
    UNIT_CAPABILITIES,
    gender_words,
    narrows_units,
    population_misfits,
    program_admits,
    unit_admits,
)
from inventory.errors import Invalid
from inventory.model import UnitState, is_stale
from inventory.search import distance_from, distance_km

NOW_BONUS, SOON_BONUS, STALE_PENALTY, LANGUAGE_WEIGHT = 40.0, 25.0, 30.0, 10.0
PATHWAY_STEP, KM_PENALTY, MAX_KM, WAITLIST_PENALTY = 4.0, 1.0, 30.0, 2.0


@dataclass(frozen=True, slots=True)
class Needs(eligibility.Needs):
    """The person's needs (the eligibility rule's), plus what only moves the ranking: the
    language they speak and where they are."""

    language: str | None = None
    near: tuple[float, float] | None = None


@dataclass(slots=True)
class Option:
    program: ProgramInfo
    score: float
    available_now: int
    expected_by_ready_at: int
    waitlist: int
    distance_km: float | None
    stale: bool
    best_unit_id: str | None
    reasons: list[str] = field(default_factory=list)
    would_disqualify: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        p = self.program
        return {"program_id": p.id, "program_name": p.name, "level_of_care": p.level_of_care,
                "organization_name": p.organization_name, "area": p.area, "phone": p.phone,
                "score": self.score, "available_now": self.available_now,
                "expected_by_ready_at": self.expected_by_ready_at, "waitlist": self.waitlist,
                "distance_km": self.distance_km, "stale": self.stale,
                "best_unit_id": self.best_unit_id, "reasons": self.reasons,
                "would_disqualify": self.would_disqualify}


def target_levels(from_level: str | None, pathways: dict[str, list[str]],
                  levels: list[str]) -> list[str]:
    """Levels to look at, best first: the pathway from `from_level`, or every level."""
    if from_level is None:
        return list(levels)
    if from_level not in pathways:
        raise Invalid(f"unknown from_level {from_level!r}; known: {', '.join(pathways)}")
    return list(pathways[from_level])


@dataclass(frozen=True, slots=True)
class Words:
    """How reasons name levels: display names (in the page's language) and whether the
    levels come from a care pathway (so the first is "the next step")."""

    names: Mapping[str, str] = field(default_factory=dict)
    pathway: bool = True

    def name(self, level: str) -> str:
        return self.names.get(level) or level.replace("_", " ").capitalize()


def rank(programs: Iterable[ProgramInfo], states: Mapping[str, UnitState], needs: Needs,
         levels: list[str], ready_at: datetime, now: datetime, default_cadence: int,
         limit: int = 10, words: Words = Words()) -> list[Option]:
    """Eligible programs at `levels` with a unit that fits, best placement first. Beds now
    and expected discharges count only the units that fit the person. (Callers refuse
    contradictory needs first with `eligibility.check_needs`; ranking never raises on them.)

    Hot path of every match over thousands of programs: each is scored by `_quick_score`
    (numbers only, no allocation but a tuple); options and their reasons are built by
    `_score`, with the same arithmetic, for the `limit` shown."""
    order = {level: i for i, level in enumerate(levels)}
    by_unit = narrows_units(needs)
    fresh_after: dict[int, datetime] = {}  # cadence -> oldest fresh update
    distance = distance_from(needs.near) if needs.near else None
    scored = []
    for p in programs:
        position = order.get(p.level_of_care)
        if position is None or not program_admits(p, needs):
            continue
        fitting = [u for u in p.units if unit_admits(u, needs)] if by_unit else p.units
        if p.units and not fitting:
            continue
        cadence = p.cadence_minutes or default_cadence
        oldest = fresh_after.get(cadence)
        if oldest is None:
            oldest = fresh_after[cadence] = now - timedelta(minutes=cadence)
        km = (distance(p.latitude, p.longitude)
              if distance is not None and p.latitude is not None and p.longitude is not None
              else None)
        score = _quick_score(fitting, states, len(order) - position, ready_at, oldest, km,
                             needs.language in p.languages if needs.language else None)
        scored.append((-score, round(km, 2) if km is not None else _FAR, p.name, p.id, p))
    scored.sort(key=_without_program)
    # Reasons are words for people: written only for the options that will be shown.
    return [_score(p, [u for u in p.units if unit_admits(u, needs)], states, needs, order,
                   ready_at, now, default_cadence, words)
            for *_, p in scored[:limit]]


_FAR = float("inf")


def _without_program(entry: tuple[float, float, str, str, ProgramInfo]
                     ) -> tuple[float, float, str, str]:
    return entry[:4]


def _quick_score(fitting: Sequence[UnitInfo], states: Mapping[str, UnitState], steps: int,
                 ready_at: datetime, oldest_fresh: datetime, km: float | None,
                 speaks: bool | None) -> float:
    """`_score`'s score, and nothing else, as cheaply as Python allows (`_score` is the
    reference: `test_quick_score_is_the_score` holds them equal)."""
    available = waitlist = discharging = 0
    stale = live = False
    for u in fitting:
        s = states.get(u.id)
        if s is None:
            continue
        live = True
        available += s.available
        waitlist += s.waitlist
        if s.expected_discharges:
            discharging += _discharging(s, ready_at)
        if s.updated_at is None or s.updated_at < oldest_fresh:
            stale = True
    score = steps * PATHWAY_STEP
    if available > 0:
        score += NOW_BONUS + min(available, 5) * 2
    elif available + discharging > 0:
        score += SOON_BONUS + min(available + discharging, 5)
    score -= min(waitlist, 10) * WAITLIST_PENALTY
    if km is not None:
        score -= min(km, MAX_KM) * KM_PENALTY
    if stale or not live:
        score -= STALE_PENALTY
    if speaks is not None:
        score += LANGUAGE_WEIGHT if speaks else -LANGUAGE_WEIGHT
    return round(score, 1)


def _score(p: ProgramInfo, fitting: Sequence[UnitInfo], states: Mapping[str, UnitState],
           needs: Needs, order: dict[str, int], ready_at: datetime, now: datetime,
           default_cadence: int, words: Words | None) -> Option:
    """The option's score from the `fitting` units only; with `words`, also the reasons
    (the same arithmetic)."""
    live = [s for u in fitting if (s := states.get(u.id)) is not None]
    cadence = p.cadence_minutes or default_cadence
    available = sum(s.available for s in live)
    expected = available + sum(_discharging(s, ready_at) for s in live)
    waitlist = sum(s.waitlist for s in live)
    stale_units = [s for s in live if is_stale(s.updated_at, cadence, now)]
    best = max(live, key=lambda s: (s.available, s.id), default=None)
    option = Option(program=p, score=0.0, available_now=available,
                    expected_by_ready_at=expected, waitlist=waitlist, distance_km=None,
                    stale=bool(stale_units) or not live,
                    best_unit_id=best.id if best and best.available > 0 else None)
    position = order[p.level_of_care]
    score = (len(order) - position) * PATHWAY_STEP
    if available > 0:
        score += NOW_BONUS + min(available, 5) * 2
    elif expected > 0:
        score += SOON_BONUS + min(expected, 5)
    score -= min(waitlist, 10) * WAITLIST_PENALTY
    km = None
    if needs.near and p.latitude is not None and p.longitude is not None:
        km = distance_km(needs.near, (p.latitude, p.longitude))
        option.distance_km = round(km, 2)
        score -= min(km, MAX_KM) * KM_PENALTY
    if option.stale:
        score -= STALE_PENALTY
    speaks = needs.language in p.languages if needs.language else None
    if speaks is not None:
        score += LANGUAGE_WEIGHT if speaks else -LANGUAGE_WEIGHT
    option.score = round(score, 1)
    if words is not None:
        noun = "slot" if fitting and all(u.kind == "slot" for u in fitting) else "bed"
        option.reasons = _reasons(p, option, position, len(order), ready_at, km, speaks,
                                  needs.language, stale_units, cadence, now, words, noun)
        option.reasons += [f"{u.label} not counted: {'; '.join(population_misfits(u, needs))}"
                           for u in p.units if u not in fitting]
        option.would_disqualify = check_before_referring(p, needs)
    return option


def _reasons(p: ProgramInfo, o: Option, position: int, steps: int, ready_at: datetime,
             km: float | None, speaks: bool | None, language: str | None,
             stale_units: list[UnitState], cadence: int, now: datetime, words: Words,
             noun: str) -> list[str]:
    name = words.name(p.level_of_care)
    if not words.pathway:
        reasons = [name]
    elif position == 0:
        reasons = [f"{name} is the next step"]
    else:
        reasons = [f"{name} is another next step (choice {position + 1} of {steps})"]
    if o.available_now > 0:
        plural = "s" if o.available_now != 1 else ""
        reasons.append(f"{o.available_now} {noun}{plural} free now")
    elif o.expected_by_ready_at > 0:
        reasons.append(f"none free now; {o.expected_by_ready_at} expected by "
                       f"{ready_at:%a %H:%M} (providers' expected discharges)")
    else:
        reasons.append(f"no {noun} free now and none expected by the ready time")
    if o.waitlist:
        reasons.append(f"{o.waitlist} on the waitlist")
    if km is not None:
        reasons.append(f"{km:.1f} km away")
    if o.stale:
        reasons.append(_stale_reason(stale_units, cadence, now))
    if speaks is True:
        reasons.append(f"staff speak {language}")
    elif speaks is False:
        reasons.append(f"no staff listed as speaking {language}")
    return reasons


def _discharging(state: UnitState, ready_at: datetime) -> int:
    total = 0
    for d in state.expected_discharges:
        at = datetime.fromisoformat(d["at"]) if isinstance(d.get("at"), str) else d.get("at")
        if at is not None and at <= ready_at:
            total += int(d.get("count", 0))
    return total


def _stale_reason(stale: list[UnitState], cadence: int, now: datetime) -> str:
    stamps = [s.updated_at for s in stale if s.updated_at]
    if not stamps:
        return "counts never confirmed: call to confirm"
    hours = (now - min(stamps)).total_seconds() / 3600
    return (f"counts are {hours:.1f} h old (promised every {cadence / 60:.1f} h): "
            f"call to confirm")


def check_before_referring(p: ProgramInfo, needs: Needs) -> list[str]:
    """The program's conditions the navigator has not said the client meets: only what is
    unknown (a need left out) is listed, never a condition the client already meets. (What
    does not fit is excluded before ranking, and units that do not fit are in the reasons.)"""
    out = []
    if needs.gender is None and set(p.genders) != set(GENDER_WORDS):
        out.append("serves " + ", ".join(p.genders) + " clients only")
    if needs.age is None:
        out.append(f"ages {p.age_min}-{p.age_max}")
    if needs.payer is None and p.payers:
        out.append("payers: " + ", ".join(p.payers))
    if needs.mat is None:
        out.append("MAT accepted: " + (", ".join(p.mat) if p.mat else "none"))
    for name in (*UNIT_CAPABILITIES, *PROGRAM_CAPABILITIES):
        if getattr(needs, name) is None and not getattr(p, name) and name in CHECK_LACKS:
            out.append(LACKS[name])
    if p.secure and needs.secure is None:
        out.append("locked unit")
    return out + [f"{u.label}: {'; '.join(said)}" for u in p.units
                  if (said := _unit_conditions(u, needs))]


def _unit_conditions(u: UnitInfo, needs: Needs) -> list[str]:
    """What a unit says of its own population that the navigator has not said the client
    meets."""
    out = []
    if needs.gender is None and u.own.genders is not None:
        out.append(f"{gender_words(u.genders)} only")
    if needs.age is None and (u.own.age_min is not None or u.own.age_max is not None):
        out.append(f"ages {u.age_min}-{u.age_max}")
    out += [LACKS[name] for name in UNIT_CAPABILITIES
            if getattr(needs, name) is None and getattr(u.own, name) is False]
    return out


# Capabilities whose absence a navigator should check for when the need is unknown.
CHECK_LACKS = ("wheelchair", "pets", "co_occurring")
