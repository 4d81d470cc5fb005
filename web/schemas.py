"""Request and response bodies of the REST API (what OpenAPI at /docs shows)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)
from pydantic import Strict as StrictMode

from inventory.errors import Invalid
from inventory.model import check_text

Gender = Literal["female", "male", "nonbinary"]
Mat = Literal["buprenorphine", "methadone", "naltrexone"]
Kind = Literal["bed", "slot"]
Count = Field(ge=0, le=100_000)
EARLIEST_YEAR, LATEST_YEAR = 2000, 2199


def plausible(value: datetime) -> datetime:
    """Times far outside the service's life are typos, and near year 9999 the arithmetic
    done on them (a hold's expiry, a report's range) would overflow."""
    if not EARLIEST_YEAR <= value.year <= LATEST_YEAR:
        raise ValueError(f"{value.isoformat()} is outside the years {EARLIEST_YEAR} to "
                         f"{LATEST_YEAR}")
    return value


# JSON has no date type: timestamps arrive as ISO 8601 strings even in strict models.
Timestamp = Annotated[datetime, StrictMode(False), AfterValidator(plausible)]
Id = Field(default=None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")


class Strict(BaseModel):
    """Inputs: exact JSON types and no unknown fields, so a typo is an error, not a no-op;
    only finite numbers; no control characters in any text, since they could not all be
    recorded (pydantic itself refuses lone UTF-16 surrogates in strings). web/limits.py
    refuses NaN and surrogates in a JSON body before it gets here, naming the field, since
    a validation error that echoed them back could not be written as JSON."""

    model_config = ConfigDict(strict=True, extra="forbid", allow_inf_nan=False)

    @field_validator("*", mode="after")
    @classmethod
    def printable(cls, value: Any) -> Any:
        for text in texts(value):
            try:
                check_text(text, "text")
            except Invalid as error:
                raise ValueError(str(error)) from None  # pydantic reports ValueErrors
        return value


def texts(value: Any) -> list[str]:
    """Every string inside `value` (lists and dicts included)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list | tuple):
        return [t for item in value for t in texts(item)]
    if isinstance(value, dict):
        return [t for k, v in value.items() for t in texts(k) + texts(v)]
    return []


class OrganizationIn(Strict):
    id: str | None = Id
    name: str = Field(min_length=1, max_length=200)


class OrganizationPatch(Strict):
    name: str = Field(min_length=1, max_length=200)


def refuse_nulls(model: BaseModel, fields: frozenset[str]) -> Any:
    """In a PATCH, null means "clear this"; fields that must always have a value refuse it."""
    nulled = sorted(f for f in model.model_fields_set & fields if getattr(model, f) is None)
    if nulled:
        raise ValueError(f"{', '.join(nulled)} may not be null; leave a field out to keep it")
    return model


PROGRAM_NOT_NULL = frozenset({
    "name", "description", "level_of_care", "genders", "age_min", "age_max", "payers",
    "languages", "mat", "wheelchair", "pets", "co_occurring", "involuntary", "secure",
    "harm_reduction", "telehealth", "reentry", "homeless_priority"})


class ProgramPatch(Strict):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=4000)
    level_of_care: str | None = Field(default=None, max_length=64)
    asam_level: str | None = Field(default=None, max_length=16)
    area: str | None = Field(default=None, max_length=100)
    address: str | None = Field(default=None, max_length=300)
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    phone: str | None = Field(default=None, max_length=40)
    genders: list[Gender] | None = None
    age_min: int | None = Field(default=None, ge=0, le=130)
    age_max: int | None = Field(default=None, ge=0, le=130)
    payers: list[str] | None = Field(default=None, max_length=20)
    languages: list[str] | None = Field(default=None, max_length=40)
    mat: list[Mat] | None = None
    wheelchair: bool | None = None
    pets: bool | None = None
    co_occurring: bool | None = None
    involuntary: bool | None = None
    secure: bool | None = None
    harm_reduction: bool | None = None  # low-barrier: no sobriety requirement
    telehealth: bool | None = None
    reentry: bool | None = None  # takes people leaving jail or prison
    homeless_priority: bool | None = None
    hours: dict[str, str] | None = Field(default=None, max_length=8)  # inventory/hours.py
    cadence_minutes: int | None = Field(default=None, ge=1, le=10_080)

    @model_validator(mode="after")
    def ages_in_order(self) -> ProgramPatch:
        if self.age_min is not None and self.age_max is not None and self.age_min > self.age_max:
            raise ValueError(f"age_min {self.age_min} is above age_max {self.age_max}")
        return self

    @model_validator(mode="after")
    def required_not_nulled(self) -> ProgramPatch:
        return refuse_nulls(self, PROGRAM_NOT_NULL)


class ProgramIn(ProgramPatch):
    id: str | None = Id
    organization_id: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=200)
    level_of_care: str = Field(max_length=64)
    genders: list[Gender] = ["female", "male", "nonbinary"]
    age_min: int = Field(default=18, ge=0, le=130)
    age_max: int = Field(default=120, ge=0, le=130)
    description: str = Field(default="", max_length=4000)
    payers: list[str] = Field(default_factory=list, max_length=20)
    languages: list[str] = Field(default_factory=lambda: ["en"], max_length=40)
    mat: list[Mat] = Field(default_factory=list)
    wheelchair: bool = False
    pets: bool = False
    co_occurring: bool = False
    involuntary: bool = False
    secure: bool = False
    harm_reduction: bool = False
    telehealth: bool = False
    reentry: bool = False
    homeless_priority: bool = False


class UnitIn(Strict):
    id: str | None = Id
    label: str = Field(min_length=1, max_length=200)
    kind: Kind = "bed"
    capacity: int = Count
    available: int = Field(default=0, ge=0, le=100_000)
    waitlist: int = Field(default=0, ge=0, le=100_000)


class UnitPatch(Strict):
    label: str | None = Field(default=None, min_length=1, max_length=200)
    kind: Kind | None = None
    capacity: int | None = Field(default=None, ge=0, le=100_000)

    @model_validator(mode="after")
    def not_nulled(self) -> UnitPatch:
        return refuse_nulls(self, frozenset({"label", "kind", "capacity"}))


class ExpectedDischarge(Strict):
    at: Timestamp
    count: int = Field(ge=1, le=1000)


class AvailabilityIn(Strict):
    """`available`: beds someone could be admitted to now, not counting beds held for
    clients on the way (`held`) or promised to people on the waitlist."""

    available: int = Count
    capacity: int | None = Field(default=None, ge=0, le=100_000)
    waitlist: int | None = Field(default=None, ge=0, le=100_000)
    expected_discharges: list[ExpectedDischarge] | None = Field(default=None, max_length=50)
    note: str = Field(default="", max_length=500)


MAX_BATCH_UNITS = 1000  # about 60 bytes each: well within max_body_bytes' 256 KB


class UnitAvailabilityIn(AvailabilityIn):
    unit_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")


class AvailabilityBatchIn(Strict):
    """Many units' counts in one request (`PUT /api/v1/availability`), each unit at most
    once."""

    updates: list[UnitAvailabilityIn] = Field(min_length=1, max_length=MAX_BATCH_UNITS)

    @model_validator(mode="after")
    def distinct_units(self) -> AvailabilityBatchIn:
        seen: set[str] = set()
        for n, update in enumerate(self.updates):
            if update.unit_id in seen:
                raise ValueError(f"unit {update.unit_id!r} appears more than once (again as "
                                 f"update {n}); send each unit once per batch")
            seen.add(update.unit_id)
        return self


class UnitResult(BaseModel):
    """One unit's outcome in a batch: `status` 200 with its new `seq` and counts, or the
    HTTP status its own request would have had and the `error` that says why."""

    unit_id: str
    status: int
    seq: int | None = None
    available: int | None = None
    held: int | None = None
    waitlist: int | None = None
    capacity: int | None = None
    error: str | None = None


class AvailabilityBatchOut(BaseModel):
    applied: int
    refused: int
    results: list[UnitResult]


class AttestIn(Strict):
    note: str = Field(default="", max_length=500)


class UnitLive(BaseModel):
    model_config = ConfigDict(extra="allow")  # e.g. wheelchair, fits (inventory/eligibility)

    id: str
    program_id: str
    label: str | None = None
    kind: str | None = None
    genders: list[str] | None = None  # effective: the program's, narrowed by the unit
    age_min: int | None = None
    age_max: int | None = None
    available: int
    held: int
    waitlist: int
    capacity: int
    status: str
    updated_at: str | None
    updated_by: str | None = None  # staff only (web/audiences.py)
    source: str | None = None  # staff only
    stale: bool
    seq: int
    note: str | None = None  # staff only
    expected_discharges: list[dict] | None = None  # staff only


class ProgramOut(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: str
    organization_id: str
    name: str
    level_of_care: str
    available: int
    waitlist: int
    stale: bool
    distance_km: float | None = None
    units: list[UnitLive]


class ProgramList(BaseModel):
    count: int
    seq: int
    programs: list[ProgramOut]


class EventOut(BaseModel):
    model_config = ConfigDict(extra="allow")

    type: str
    seq: int


class EventsOut(BaseModel):
    seq: int
    snapshot_required: bool = Field(description="true when events after `after` are no longer "
                                     "kept: fetch /api/v1/programs instead")
    events: list[EventOut]
