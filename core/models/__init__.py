"""All ORM models, imported here so Alembic and the services see one metadata."""
from core.models.campaign import Campaign
from core.models.case import Case, CaseEvent, CaseMeasure, StaffPrompt
from core.models.checkin import Alert, Answer, CheckIn, CheckInRound, CheckInScore, FreeText, Questionnaire
from core.models.cohort import Cohort
from core.models.console import StaffSignInCode, StaffWebSession
from core.models.enrolment import (
    Child,
    CodeAttempt,
    ConsentDecline,
    Draft,
    Guardian,
    Household,
    HouseholdInvite,
    Invitation,
)
from core.models.delivery import Delivery, DeliveryDayCount, LessonFeedback
from core.models.endpoint import Endpoint
from core.models.guards import AuthFailure, IdempotencyKey, SafetyFloorRow
from core.models.inbox import InboxItem, InboxMessage
from core.models.lessons import Lesson, Programme
from core.models.staff import Staff, StaffCohort
from core.models.web import ChannelProblem, SignInCode, SmsMessage, WebLink, WebSession
from core.models.system import AuditLog, Heartbeat, ProcessedUpdate, SendBudget, TextDocument

__all__ = [
    "Alert",
    "AuthFailure",
    "Answer",
    "CheckIn",
    "CheckInRound",
    "CheckInScore",
    "FreeText",
    "Questionnaire",
    "AuditLog",
    "Campaign",
    "Case",
    "CaseEvent",
    "CaseMeasure",
    "StaffPrompt",
    "Child",
    "CodeAttempt",
    "Cohort",
    "ConsentDecline",
    "Delivery",
    "DeliveryDayCount",
    "Draft",
    "Endpoint",
    "Guardian",
    "Heartbeat",
    "Household",
    "IdempotencyKey",
    "HouseholdInvite",
    "InboxItem",
    "InboxMessage",
    "Invitation",
    "Lesson",
    "LessonFeedback",
    "ProcessedUpdate",
    "Programme",
    "SafetyFloorRow",
    "SendBudget",
    "Staff",
    "StaffCohort",
    "StaffSignInCode",
    "StaffWebSession",
    "TextDocument",
    "ChannelProblem",
    "SignInCode",
    "SmsMessage",
    "WebLink",
    "WebSession",
]
