"""Closed vocabularies stored as strings (portable across SQLite and PostgreSQL)."""
from __future__ import annotations

from enum import StrEnum


class StaffRole(StrEnum):
    admin = "admin"
    supervisor = "supervisor"
    director = "director"


class Relationship(StrEnum):
    mother = "mother"
    father = "father"
    grandmother = "grandmother"
    grandfather = "grandfather"
    other_relative = "other_relative"
    other_carer = "other_carer"


class Sex(StrEnum):
    girl = "girl"
    boy = "boy"


class GuardianStatus(StrEnum):
    active = "active"
    paused = "paused"  # enrolled, wants no lessons for now
    stopped = "stopped"  # said /stop: never messaged until they /start anew


class DraftFlow(StrEnum):
    enrol = "enrol"  # a new household through a cohort invitation
    # The member shadows str.join; the stored value must stay "join", so only the checker is told.
    join = "join"  # type: ignore[assignment]  # a second guardian through a household invite
    add_child = "add_child"
    edit_child = "edit_child"
    edit_identity = "edit_identity"  # an enrolled guardian corrects what to call them, phone, village
