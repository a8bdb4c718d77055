from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from core.config import SUPPORTED_LOCALES
from core.models.enums import StaffRole

# Row ids fit a 32-bit INTEGER column; larger numbers are input errors, not database errors.
CohortId = Annotated[int, Field(ge=1, le=2_147_483_647)]


class StaffCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    display_name: str = Field(min_length=1, max_length=100)
    role: StaffRole
    cohort_ids: list[CohortId] = Field(default_factory=list, validate_default=True)
    # Cohorts where this director is the primary one (the name guardians see).
    primary_cohort_ids: list[CohortId] = Field(default_factory=list)
    locale: str = "zh-Hans"

    @field_validator("display_name")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value.strip()

    @field_validator("locale")
    @classmethod
    def _locale(cls, value: str) -> str:
        if value not in SUPPORTED_LOCALES:
            raise ValueError(f"unsupported locale {value!r}; use one of {', '.join(SUPPORTED_LOCALES)}")
        return value

    # Field validators (not one model validator) so a 422 names the offending field.
    # They rely on field order: role is validated before cohort_ids, cohort_ids before primaries.
    @field_validator("cohort_ids")
    @classmethod
    def _cohorts_fit_role(cls, value: list[int], info: ValidationInfo) -> list[int]:
        role = info.data.get("role")
        if role == StaffRole.admin and value:
            raise ValueError("admins see every cohort; leave cohort_ids empty")
        if role is not None and role != StaffRole.admin and not value:
            raise ValueError("directors and supervisors need at least one cohort in cohort_ids")
        return value

    @field_validator("primary_cohort_ids")
    @classmethod
    def _primaries_fit(cls, value: list[int], info: ValidationInfo) -> list[int]:
        if not value:
            return value
        if "cohort_ids" in info.data and not set(value) <= set(info.data["cohort_ids"]):
            raise ValueError("primary_cohort_ids must be among cohort_ids")
        if info.data.get("role") not in (None, StaffRole.director):
            raise ValueError("only directors can be a cohort's primary director")
        return value


class StaffUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    display_name: str | None = Field(default=None, min_length=1, max_length=100)
    active: bool | None = None
    cohort_ids: list[CohortId] | None = None
    primary_cohort_ids: list[CohortId] | None = None
    locale: str | None = None
    # A number families can call (mainland mobile or E.164; "" or null removes it), and whether the
    # families of their cohorts see it (the safety message, the reply to words the bot did not understand).
    phone: str | None = Field(default=None, max_length=30)
    phone_visible: bool | None = None

    @field_validator("display_name")
    @classmethod
    def _not_blank(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("must not be blank")
        return value

    @field_validator("locale")
    @classmethod
    def _locale(cls, value: str | None) -> str | None:
        if value is not None and value not in SUPPORTED_LOCALES:
            raise ValueError(f"unsupported locale {value!r}; use one of {', '.join(SUPPORTED_LOCALES)}")
        return value


class MembershipRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    cohort_id: int
    is_primary: bool


class StaffRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    display_name: str
    role: StaffRole
    locale: str
    active: bool
    telegram_linked: bool
    memberships: list[MembershipRead]
    created_at: datetime
    phone: str | None = None  # E.164
    phone_visible: bool = False  # shown to the families of their cohorts


class StaffCredentials(BaseModel):
    """Shown once, at creation or rotation; only hashes are stored."""

    api_token: str | None = None
    telegram_link_code: str | None = None
    telegram_link_expires_at: datetime | None = None
    telegram_link: str | None = None
