"""Who a program and each of its units can take: the one "fits this person" rule.

A program states its eligibility (genders, ages, payers, MAT, and capabilities such as
wheelchair-accessible rooms or a locked unit). A unit may narrow that for its own beds:
`genders`, `age_min`/`age_max`, and the capabilities that really differ between rooms of one
program (`wheelchair`, `involuntary`, `secure`). A unit never widens its program: its
effective population is always the program's eligibility intersected with the unit's own
attributes, and `check_narrowing` refuses a unit that would admit what the program does not,
or no one at all.

Needs are requirements: a capability need (`wheelchair`, `pets`, `harm_reduction`, ...) is
asked of a program or unit only when it is true; false or unknown asks for nothing. Search,
matcher and holds all decide with `program_admits` and `unit_admits` (or `unit_fit`, which also
says why not), so they always agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from inventory.errors import Invalid

GENDERS = ("female", "male", "nonbinary")
MAT_KINDS = ("none", "buprenorphine", "methadone", "naltrexone")
AGE_LIMIT = 130
# Capabilities a unit may switch off for its own rooms (never on when its program lacks them).
UNIT_CAPABILITIES = ("wheelchair", "involuntary", "secure")
# Capabilities only a whole program has.
PROGRAM_CAPABILITIES = ("pets", "co_occurring", "harm_reduction", "telehealth", "reentry",
                        "homeless_priority")
NARROWABLE = ("genders", "age_min", "age_max", *UNIT_CAPABILITIES)

GENDER_WORDS = {"female": "women", "male": "men", "nonbinary": "nonbinary people"}
LACKS = {
    "wheelchair": "no wheelchair-accessible room",
    "involuntary": "does not take people on an involuntary hold",
    "secure": "not a secure (locked) setting",
    "pets": "no pets",
    "co_occurring": "not co-occurring capable",
    "harm_reduction": "not low-barrier (sobriety required)",
    "telehealth": "no telehealth",
    "reentry": "does not take people leaving jail or prison",
    "homeless_priority": "no priority for people experiencing homelessness",
}


@dataclass(frozen=True, slots=True)
class Needs:
    """What one person needs of a bed or slot; None means unknown (no requirement)."""

    gender: str | None = None
    age: int | None = None
    payer: str | None = None
    mat: str | None = None  # none | buprenorphine | methadone | naltrexone
    wheelchair: bool | None = None
    pets: bool | None = None
    co_occurring: bool | None = None
    involuntary: bool | None = None
    secure: bool | None = None
    harm_reduction: bool | None = None
    telehealth: bool | None = None
    reentry: bool | None = None
    homeless_priority: bool | None = None


NEED_FIELDS = tuple(Needs.__dataclass_fields__)


class Eligibility(Protocol):
    """A program's stated eligibility (a `ProgramInfo` is one)."""

    @property
    def genders(self) -> tuple[str, ...]: ...

    @property
    def age_min(self) -> int: ...

    @property
    def age_max(self) -> int: ...

    @property
    def payers(self) -> tuple[str, ...]: ...

    @property
    def mat(self) -> tuple[str, ...]: ...

    @property
    def wheelchair(self) -> bool: ...

    @property
    def pets(self) -> bool: ...

    @property
    def co_occurring(self) -> bool: ...

    @property
    def involuntary(self) -> bool: ...

    @property
    def secure(self) -> bool: ...

    @property
    def harm_reduction(self) -> bool: ...

    @property
    def telehealth(self) -> bool: ...

    @property
    def reentry(self) -> bool: ...

    @property
    def homeless_priority(self) -> bool: ...


class Population(Protocol):
    """A unit's effective population (a `UnitInfo` is one)."""

    @property
    def id(self) -> str: ...

    @property
    def label(self) -> str: ...

    @property
    def genders(self) -> tuple[str, ...]: ...

    @property
    def age_min(self) -> int: ...

    @property
    def age_max(self) -> int: ...

    @property
    def wheelchair(self) -> bool: ...

    @property
    def involuntary(self) -> bool: ...

    @property
    def secure(self) -> bool: ...


@dataclass(frozen=True, slots=True)
class Narrowing:
    """What a unit says of its own population; None inherits the program's value."""

    genders: tuple[str, ...] | None = None
    age_min: int | None = None
    age_max: int | None = None
    wheelchair: bool | None = None
    involuntary: bool | None = None
    secure: bool | None = None

    def as_dict(self) -> dict[str, Any]:
        return {name: (list(v) if isinstance(v, tuple) else v)
                for name in NARROWABLE if (v := getattr(self, name)) is not None}


INHERITS = Narrowing()  # a unit that says nothing of its own population


@dataclass(frozen=True, slots=True)
class Effective:
    """A unit's effective population: its program's eligibility narrowed by the unit."""

    genders: tuple[str, ...]
    age_min: int
    age_max: int
    wheelchair: bool
    involuntary: bool
    secure: bool


def effective(program: Eligibility, own: Narrowing) -> Effective:
    """The intersection of the program's eligibility and the unit's own attributes. A
    program narrowed after its units were set narrows them too (intersection, not copy)."""
    genders = program.genders if own.genders is None else tuple(
        g for g in program.genders if g in own.genders)
    return Effective(
        genders=genders,
        age_min=max(program.age_min, own.age_min if own.age_min is not None else 0),
        age_max=min(program.age_max, own.age_max if own.age_max is not None else AGE_LIMIT),
        wheelchair=program.wheelchair and own.wheelchair is not False,
        involuntary=program.involuntary and own.involuntary is not False,
        secure=program.secure and own.secure is not False,
    )


def check_narrowing(program: Eligibility, own: Narrowing, label: str) -> None:
    """Refuse (Invalid, a sentence naming the attribute) a unit that would widen its
    program's eligibility or admit no one."""
    if own.genders is not None:
        unknown = [g for g in own.genders if g not in GENDERS]
        if unknown:
            raise Invalid(f"genders: unknown value {unknown[0]!r}; known: {', '.join(GENDERS)}")
        wider = [g for g in own.genders if g not in program.genders]
        if wider:
            raise Invalid(f"genders: unit {label!r} may not admit {gender_words(wider)}: its "
                          f"program serves {gender_words(program.genders)} only, and a unit "
                          f"can only narrow its program")
    if own.age_min is not None and own.age_min < program.age_min:
        raise Invalid(f"age_min: unit {label!r} may not admit from age {own.age_min}: its "
                      f"program starts at {program.age_min}, and a unit can only narrow it")
    if own.age_max is not None and own.age_max > program.age_max:
        raise Invalid(f"age_max: unit {label!r} may not admit up to age {own.age_max}: its "
                      f"program stops at {program.age_max}, and a unit can only narrow it")
    for name in UNIT_CAPABILITIES:
        if getattr(own, name) is True and not getattr(program, name):
            raise Invalid(f"{name}: unit {label!r} may not say {name} true: its program "
                          f"has {LACKS[name]}, and a unit can only narrow its program")
    check_admits_someone(effective(program, own), label)


def check_admits_someone(pop: Effective, label: str) -> None:
    if not pop.genders:
        raise Invalid(f"genders: unit {label!r} would admit no one: none of its genders is "
                      f"served by its program")
    if pop.age_min > pop.age_max:
        raise Invalid(f"age_min: unit {label!r} would admit no one: ages {pop.age_min} to "
                      f"{pop.age_max} (with its program's ages) is an empty range")


def check_needs(needs: Needs) -> None:
    """Refuse needs that name unknown values or contradict themselves (Invalid names the
    field)."""
    if needs.gender is not None and needs.gender not in GENDERS:
        raise Invalid(f"gender: unknown value {needs.gender!r}; known: {', '.join(GENDERS)}")
    if needs.mat is not None and needs.mat not in MAT_KINDS:
        raise Invalid(f"mat: unknown value {needs.mat!r}; known: {', '.join(MAT_KINDS)}")
    if needs.age is not None and not 0 <= needs.age <= AGE_LIMIT:
        raise Invalid(f"age: {needs.age} is not an age between 0 and {AGE_LIMIT}")
    if needs.involuntary and needs.secure is False:
        raise Invalid("secure: false contradicts involuntary: true (a person on an "
                      "involuntary hold can only be placed in a secure setting); leave "
                      "secure out or set it to true")


# The rule. Hot path of every search and ranking: plain comparisons, no allocation. -----


def program_admits(p: Eligibility, n: Needs) -> bool:
    """Could some unit of this program take this person? (Units only narrow, so a program
    that does not admit a person has no unit that does.)"""
    if n.gender is not None and n.gender not in p.genders:
        return False
    if n.age is not None and not p.age_min <= n.age <= p.age_max:
        return False
    if n.payer and n.payer not in p.payers:
        return False
    if n.mat and n.mat != "none" and n.mat not in p.mat:
        return False
    return not (
        (n.wheelchair and not p.wheelchair) or (n.involuntary and not p.involuntary)
        or (n.secure and not p.secure) or (n.pets and not p.pets)
        or (n.co_occurring and not p.co_occurring)
        or (n.harm_reduction and not p.harm_reduction)
        or (n.telehealth and not p.telehealth) or (n.reentry and not p.reentry)
        or (n.homeless_priority and not p.homeless_priority))


def unit_admits(u: Population, n: Needs) -> bool:
    """Given that its program admits the person, does this unit's own population?"""
    if n.gender is not None and n.gender not in u.genders:
        return False
    if n.age is not None and not u.age_min <= n.age <= u.age_max:
        return False
    return not ((n.wheelchair and not u.wheelchair) or (n.involuntary and not u.involuntary)
                or (n.secure and not u.secure))


def narrows_units(n: Needs) -> bool:
    """Whether these needs can tell units of one program apart at all (a fast path)."""
    return (n.gender is not None or n.age is not None or bool(n.wheelchair)
            or bool(n.involuntary) or bool(n.secure))


# The same rule, in words. --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Fit:
    """Whether one unit fits one person; when not, `reasons` says why in words. A hold or a
    referral answer checks `unit_fit(...)` and refuses with `fit.sentence()`."""

    unit_id: str
    label: str
    reasons: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return not self.reasons

    def sentence(self) -> str:
        return f"{self.label} does not fit this client: {'; '.join(self.reasons)}"


def unit_fit(unit: Population, program: Eligibility, needs: Needs) -> Fit:
    """The whole rule for one unit (its program's eligibility and its own population)."""
    return Fit(unit.id, unit.label, (*_program_only_misfits(program, needs),
                                     *population_misfits(unit, needs)))


def program_misfits(p: Eligibility, n: Needs) -> list[str]:
    """Why this program cannot take this person (empty: some unit may)."""
    return _program_only_misfits(p, n) + population_misfits(p, n)


def _program_only_misfits(p: Eligibility, n: Needs) -> list[str]:
    out = []
    if n.payer and n.payer not in p.payers:
        out.append(f"does not take {n.payer}" + (f" (takes {', '.join(p.payers)})"
                                                  if p.payers else ""))
    if n.mat and n.mat != "none" and n.mat not in p.mat:
        out.append(f"does not support {n.mat}")
    out += [LACKS[name] for name in PROGRAM_CAPABILITIES
            if getattr(n, name) and not getattr(p, name)]
    return out


def population_misfits(u: Population | Eligibility, n: Needs) -> list[str]:
    out = []
    if n.gender is not None and n.gender not in u.genders:
        out.append(f"{gender_words(u.genders)} only")
    if n.age is not None and not u.age_min <= n.age <= u.age_max:
        out.append(f"ages {u.age_min}-{u.age_max} only")
    out += [LACKS[name] for name in UNIT_CAPABILITIES
            if getattr(n, name) and not getattr(u, name)]
    return out


def gender_words(genders: tuple[str, ...] | list[str]) -> str:
    words = [GENDER_WORDS.get(g, g) for g in GENDERS if g in genders]
    words += [g for g in genders if g not in GENDERS]
    return " and ".join(words) if len(words) < 3 else ", ".join(words[:-1]) + " and " + words[-1]
