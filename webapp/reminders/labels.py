"""Words people read about reminders (gettext: English msgids, Chinese in the catalog)."""
from flask_babel import lazy_gettext as _l

KIND_LABELS = {
    "due_soon": _l("Due soon"), "overdue": _l("Overdue"), "overdue_below": _l("Overdue below"),
    "obligation": _l("Not yet met this period"), "review": _l("Awaiting review"), "returned": _l("Returned"),
    "plan": _l("New work plan"), "nudge": _l("Nudge"),
}
NUDGE_ABOUT = {"overdue": _l("Overdue ledger rows"), "obligations": _l("Obligations not yet met"),
               "other": _l("Work to catch up on")}
DIGEST_LABELS = {"daily": _l("Daily digest"), "weekly": _l("Weekly digest"), "none": _l("No e-mail")}
ROBOT_FORMAT_LABELS = {"wecom": _l("WeCom group robot (markdown)"), "json": _l("Generic JSON")}
STATUS_LABELS = {"pending": _l("Pending"), "sent": _l("Sent"), "failed": _l("Failed")}


def kind_label(kind: str) -> str:
    return str(KIND_LABELS.get(kind, kind))


def nudge_about_text(about: str) -> str:
    return str(NUDGE_ABOUT.get(about, NUDGE_ABOUT["other"]))
