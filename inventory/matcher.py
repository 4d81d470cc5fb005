"""Next-phase placement ranking: which programs could take this client next, and why.

A pure function of the directory, the live states, the client's needs, `ready_at` and
`now`: the same input always gives the same ranking. Eligibility excludes; everything else
(beds now, beds expected by `ready_at`, distance, freshness, waitlist, language, the
pathway's order) only moves a program up or down, and each move is said in `reasons`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from inventory.directory import ProgramInfo
from inventory.errors import Invalid
from inventory.model import UnitState, is_stale
from inventory.search import Filters, distance_km, eligible

NOW_BONUS, SOON_BONUS, STALE_PENALTY, LANGUAGE_WEIGHT = 40.0, 25.0, 30.0, 10.0
PATHWAY_STEP, KM_PENALTY, MAX_KM, WAITLIST_PENALTY = 4.0, 1.0, 30.0, 2.0


@dataclass(frozen=True, slots=True)
class Needs:
    gender: str | None = None
    age: int | None = None
    payer: str | None = None
    language: str | None = None
    mat: str | None = None
    wheelchair: bool | None = None
    pets: bool | None = None
    co_occurring: bool | None = None
    involuntary: bool | None = None
    secure: bool | None = None
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


def rank(programs: list[ProgramInfo], states: dict[str, UnitState], needs: Needs,
         levels: list[str], ready_at: datetime, now: datetime, default_cadence: int,
         limit: int = 10) -> list[Option]:
    """Eligible programs at `levels`, best placement first."""
    hard = Filters(level_of_care=tuple(levels), gender=needs.gender, age=needs.age,
                   payer=needs.payer, mat=needs.mat, wheelchair=needs.wheelchair,
                   pets=needs.pets, co_occurring=needs.co_occurring,
                   involuntary=needs.involuntary, secure=needs.secure)
    order = {level: i for i, level in enumerate(levels)}
    scored = [_score(p, states, needs, order, ready_at, now, default_cadence, explain=False)
              for p in programs if eligible(p, hard)]
    scored.sort(key=_rank_key)
    # Reasons are words for people: written only for the options that will be shown.
    return [_score(o.program, states, needs, order, ready_at, now, default_cadence,
                   explain=True) for o in scored[:limit]]


def _rank_key(o: Option) -> tuple[float, float, str, str]:
    far = o.distance_km if o.distance_km is not None else float("inf")
    return (-o.score, far, o.program.name, o.program.id)


def _score(p: ProgramInfo, states: dict[str, UnitState], needs: Needs,
           order: dict[str, int], ready_at: datetime, now: datetime, default_cadence: int,
           explain: bool) -> Option:
    """The option's score; with `explain`, also the reasons (the same arithmetic)."""
    live = [s for u in p.units if (s := states.get(u.id)) is not None]
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
    if explain:
        option.reasons = _reasons(p, option, position, len(order), ready_at, km, speaks,
                                  needs.language, stale_units, cadence, now)
        option.would_disqualify = requirements(p)
    return option


def _reasons(p: ProgramInfo, o: Option, position: int, steps: int, ready_at: datetime,
             km: float | None, speaks: bool | None, language: str | None,
             stale_units: list[UnitState], cadence: int, now: datetime) -> list[str]:
    reasons = [f"{p.level_of_care.replace('_', ' ')} is step {position + 1} of {steps} "
               f"on the care pathway"]
    if o.available_now > 0:
        reasons.append(f"{o.available_now} bed{'s' if o.available_now != 1 else ''} free now")
    elif o.expected_by_ready_at > 0:
        reasons.append(f"none free now; {o.expected_by_ready_at} expected by "
                       f"{ready_at:%a %H:%M} (providers' expected discharges)")
    else:
        reasons.append("no bed free now and none expected by the ready time")
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


def requirements(p: ProgramInfo) -> list[str]:
    """The program's own conditions: what would rule a client out."""
    out = []
    if set(p.genders) != {"female", "male", "nonbinary"}:
        out.append("serves " + ", ".join(p.genders) + " clients only")
    out.append(f"ages {p.age_min}-{p.age_max}")
    if p.payers:
        out.append("payers: " + ", ".join(p.payers))
    out.append("MAT accepted: " + (", ".join(p.mat) if p.mat else "none"))
    for flag, text in (("wheelchair", "no wheelchair access"), ("pets", "no pets")):
        if not getattr(p, flag):
            out.append(text)
    if p.secure:
        out.append("locked unit")
    if not p.co_occurring:
        out.append("not co-occurring capable")
    return out
