"""All models, importable from one place: `from webapp.models import Unit, User, ...`."""
from .activity import ACTIVITY_STATUSES, Activity, ActivityCounter, ActivityKind, LedgerFigureStamp, MetRollupStamp
from .audit import AuditEntry
from .files import StoredFile
from .ledger import LEDGER_STATUSES, LedgerRow
from .org import BRANCH_CATEGORIES, UNIT_KINDS, Unit
from .prereview import (PREREVIEW_STATUSES, PrereviewFile, PrereviewItem, PrereviewKind,  # noqa: F401
                        PrereviewStep)
from .plan import CADENCES, LEVELS, PLAN_STATUSES, Plan, Requirement, Section, Task, TaskAssignment
from .reminder import Nudge, Reminder, ReminderDelivery, ReminderSetting, UnitRobot
from .user import ROLES, LoginFailure, User, UserSession
from .token import ApiToken

__all__ = [
    "ACTIVITY_STATUSES", "Activity", "ActivityCounter", "ActivityKind", "MetRollupStamp", "LedgerFigureStamp", "AuditEntry", "StoredFile", "LEDGER_STATUSES",
    "LedgerRow", "BRANCH_CATEGORIES", "UNIT_KINDS", "Unit", "CADENCES", "LEVELS", "PLAN_STATUSES",
    "Plan", "Requirement", "Section", "Task", "TaskAssignment", "ROLES", "LoginFailure", "User", "UserSession",
    "ApiToken",
    "Nudge", "Reminder", "ReminderDelivery", "ReminderSetting", "UnitRobot",
    "PREREVIEW_STATUSES", "PrereviewFile", "PrereviewItem", "PrereviewKind", "PrereviewStep",
]
