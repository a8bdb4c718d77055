from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from core.households.identity import Identity, family_label
from core.models.enums import Relationship, Sex


class ChildRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    nickname: str
    birth_year: int
    birth_month: int
    sex: Sex | None
    created_at: datetime
    updated_at: datetime


class GuardianRead(BaseModel):
    """What staff see of a guardian. Never the chat id."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    relationship: Relationship
    lives_with_children: bool
    locale: str
    status: str
    consent_version: int
    consented_at: datetime
    created_at: datetime
    # Whom to call (what the family calls them, E.164 phone, where the house is); None when not given.
    call_name: str | None = None
    phone: str | None = None
    village: str | None = None


class HouseholdRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    cohort_id: int
    created_at: datetime
    guardians: list[GuardianRead]
    children: list[ChildRead]
    family: str | None = None  # the label staff see on every card (core.households.identity.family_label)

    @classmethod
    def of(cls, household: object) -> HouseholdRead:
        read = cls.model_validate(household)
        read.family = family_label(Identity.of(g) for g in household.guardians)  # type: ignore[attr-defined]
        return read


class ChildUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    nickname: str | None = Field(default=None, min_length=1, max_length=20)
    birth_year: int | None = None
    birth_month: int | None = Field(default=None, ge=1, le=12)
    sex: Sex | None = None
