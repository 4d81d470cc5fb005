"""What a client needs, as the match, transition and referral bodies take it."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from inventory.eligibility import check_needs
from inventory.errors import Invalid
from inventory.transitions import needs_of
from web.schemas import Gender, Strict

ClientRef = Field(min_length=1, max_length=64, description=(
    "Your opaque reference for the client: never a name, birth date or record number."))


class Location(Strict):
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)


class NeedsIn(Strict):
    gender: Gender | None = None
    age: int | None = Field(default=None, ge=0, le=130)
    payer: str | None = Field(default=None, max_length=40)
    language: str | None = Field(default=None, max_length=16)
    mat: Literal["none", "buprenorphine", "methadone", "naltrexone"] | None = None
    wheelchair: bool | None = None
    pets: bool | None = None
    co_occurring: bool | None = None
    involuntary: bool | None = None
    secure: bool | None = None
    harm_reduction: bool | None = None
    telehealth: bool | None = None
    reentry: bool | None = None
    homeless_priority: bool | None = None
    location: Location | None = None

    @model_validator(mode="after")
    def consistent(self) -> NeedsIn:
        try:
            check_needs(needs_of(self.model_dump()))
        except Invalid as error:
            raise ValueError(str(error)) from None
        return self
