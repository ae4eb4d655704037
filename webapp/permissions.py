"""Where every permission is decided: roles, scope (a unit's subtree), route guards, object checks.

Scope is enforced by the ORM, not by each query: while a logged-in user's request runs, every
SELECT of a unit-owned model gets "unit_id IN (this user's subtree)" added (see `_apply_scope`).
A query that forgets the filter is still scoped; a query that must see everything says so with
`execution_options(unscoped=True)`. Objects outside the scope therefore look missing (404).
"""
from __future__ import annotations

from functools import lru_cache, wraps
from urllib.parse import urlsplit

from flask import abort, g, has_request_context, make_response, redirect, request, url_for
from flask_login import current_user
from sqlalchemy import event, false, or_
from sqlalchemy.orm import Session, with_loader_criteria

from .extensions import db, login_manager
from .htmx import is_htmx
from .models import (Activity, ActivityKind, AuditEntry, LedgerRow, Plan, PrereviewFile, PrereviewItem, PrereviewKind,
                     PrereviewStep, StoredFile, Task, TaskAssignment, Unit, User)

ADMIN, SECRETARY, STAFF, MONITOR = "admin", "secretary", "staff", "monitor"


# ---- scope -------------------------------------------------------------------------------------

def activate_scope(user) -> None:
    """Called once per request after login is resolved: from here on every select is scoped."""
    g.scope_path = user.unit.path
    g.scope_ancestor_ids = user.unit.ancestor_ids
    # Built once per subtree and reused: constructing the criteria on every SELECT cost a fifth of an edit's
    # CPU, and reusing the same option objects lets SQLAlchemy memoise their cache keys across requests.
    g.scope_options = _scope_criteria(g.scope_path, tuple(g.scope_ancestor_ids))


def scope_path() -> str | None:
    return g.get("scope_path") if has_request_context() else None


@lru_cache(maxsize=4096)
def _scope_criteria(path: str, ancestor_ids: tuple[int, ...]) -> tuple:
    """The loader criteria of one subtree: immutable SQL expressions, safe to share between requests and threads."""
    subtree = Unit.subtree_ids(path)
    # A plan issued by an enclosing unit is carried out in this subtree, so it is visible here.
    visible_plan_units = or_(Plan.unit_id.in_(list(ancestor_ids)), Plan.unit_id.in_(subtree))
    # Likewise the kinds an enclosing unit defines (the standard ones) are used in this subtree.
    visible_kind_units = or_(ActivityKind.unit_id.in_(list(ancestor_ids)), ActivityKind.unit_id.in_(subtree))
    visible_prereview_kinds = or_(PrereviewKind.unit_id.in_(list(ancestor_ids)), PrereviewKind.unit_id.in_(subtree))
    return (
        with_loader_criteria(Unit, Unit.path.startswith(path, autoescape=True), include_aliases=True),
        with_loader_criteria(User, User.unit_id.in_(subtree), include_aliases=True),
        with_loader_criteria(LedgerRow, LedgerRow.unit_id.in_(subtree), include_aliases=True),
        with_loader_criteria(Activity, Activity.unit_id.in_(subtree), include_aliases=True),
        with_loader_criteria(StoredFile, StoredFile.unit_id.in_(subtree), include_aliases=True),
        with_loader_criteria(TaskAssignment, TaskAssignment.unit_id.in_(subtree), include_aliases=True),
        with_loader_criteria(AuditEntry, AuditEntry.unit_id.in_(subtree), include_aliases=True),
        with_loader_criteria(Plan, visible_plan_units, include_aliases=True),
        with_loader_criteria(ActivityKind, visible_kind_units, include_aliases=True),
        with_loader_criteria(PrereviewKind, visible_prereview_kinds, include_aliases=True),
        with_loader_criteria(PrereviewItem, PrereviewItem.unit_id.in_(subtree), include_aliases=True),
        with_loader_criteria(PrereviewStep, PrereviewStep.unit_id.in_(subtree), include_aliases=True),
        with_loader_criteria(PrereviewFile, PrereviewFile.unit_id.in_(subtree), include_aliases=True),
        with_loader_criteria(
            Task, Task.plan_id.in_(db.select(Plan.id).where(visible_plan_units)), include_aliases=True),
    )


@event.listens_for(Session, "do_orm_execute")
def _apply_scope(state):
    if not (state.is_select and has_request_context()):
        return
    if state.execution_options.get("unscoped") or state.is_column_load:
        return
    options = g.get("scope_options")
    if options is None:
        return
    state.statement = state.statement.options(*options)


def in_scope(user, unit: Unit | None) -> bool:
    return unit is not None and unit.path.startswith(user.unit.path)


# ---- what a role may do ------------------------------------------------------------------------

def can_edit_unit_ledger(user, unit: Unit) -> bool:
    """Staff edit ledgers in their subtree, monitors only their own class's, admins any in scope."""
    if not in_scope(user, unit):
        return False
    if user.role in (ADMIN, STAFF):
        return True
    return user.role == MONITOR and unit.id == user.unit_id


def can_edit_ledger_row(user, row: LedgerRow) -> bool:
    return can_edit_unit_ledger(user, row.unit)


def can_log_activity(user, unit: Unit) -> bool:
    if not in_scope(user, unit):
        return False
    if user.role == MONITOR:
        return unit.id == user.unit_id
    return user.role in (ADMIN, STAFF)


def can_review_activity(user, activity: Activity) -> bool:
    """Staff review what units below their own submit; admins review anything in scope."""
    if not in_scope(user, activity.unit):
        return False
    if user.role == ADMIN:
        return True
    return user.role == STAFF and activity.unit_id != user.unit_id


def can_manage_plan(user, plan: Plan) -> bool:
    """Admins manage the plans their own unit or a unit below it issued, not an enclosing unit's."""
    return user.role == ADMIN and in_scope(user, plan.unit)


def can_manage_kind(user, kind: ActivityKind) -> bool:
    """Admins rename and retire the kinds of their own subtree; an enclosing unit's kinds are read-only."""
    return user.role == ADMIN and in_scope(user, kind.unit)


def can_edit_activity(user, activity: Activity) -> bool:
    """Whoever may log for the unit edits a draft or a returned activity; admins edit any in scope."""
    if not can_log_activity(user, activity.unit):
        return False
    return user.role == ADMIN or activity.status in ("draft", "returned")


def submission_is_approval(user) -> bool:
    """Staff and admins are the reviewers of their subtree: what they submit needs nobody else's approval."""
    return user.role in (ADMIN, STAFF)


def review_queue_criteria(user):
    """SQL criteria for "submitted activities this user is to review" (the ORM scope adds the subtree)."""
    if user.role == ADMIN:
        return Activity.status == "submitted"
    if user.role == STAFF:
        return (Activity.status == "submitted") & (Activity.unit_id != user.unit_id)
    return false()


# ---- route guards ------------------------------------------------------------------------------

def roles_required(*roles: str):
    """Login required, then one of `roles`; any other role gets 403 (an area, not an object)."""
    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if roles and current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)
        return wrapped
    return decorator


def get_or_404(model, object_id: int):
    """Fetch one object through the scoped session: missing and out-of-scope look the same."""
    obj = db.session.execute(db.select(model).where(model.id == object_id)).scalar_one_or_none()
    if obj is None:
        abort(404)
    return obj


@login_manager.unauthorized_handler
def _unauthorized():
    # Back to the page after logging in; an overlong query string is not worth carrying (nor quoting: CPU).
    full_path = request.full_path.rstrip("?")
    login_url = url_for("auth.login", next=full_path if len(full_path) <= 2000 else request.path)
    if is_htmx():
        response = make_response("", 401)
        # Back to the page the fragment belongs to (what htmx reports as its URL), not to the fragment.
        page = urlsplit(request.headers.get("HX-Current-URL", ""))
        page_path = page.path + (f"?{page.query}" if page.query else "")
        same_site = page.netloc in ("", request.host) and page_path.startswith("/") and len(page_path) <= 2000
        response.headers["HX-Redirect"] = url_for("auth.login", next=page_path) if same_site and page.path else \
            url_for("auth.login")
        return response
    if request.accept_mimetypes.best == "application/json":
        return make_response({"error": "login required"}, 401)
    return redirect(login_url)


def can_remove_file(user, stored_file: StoredFile) -> bool:
    """Evidence on a ledger row goes with the right to edit the row (activities decide their own)."""
    return stored_file.ledger_row is not None and can_edit_ledger_row(user, stored_file.ledger_row)


# ---- pre-review (预审查) -------------------------------------------------------------------------

def can_register_prereview(user, unit: Unit) -> bool:
    """Whoever may log activities for a unit registers its lectures, forums and publications."""
    return can_log_activity(user, unit)


def can_edit_prereview(user, item: PrereviewItem) -> bool:
    """A draft or a returned item is edited by its unit's organisers; what is under review is frozen."""
    return item.status in ("draft", "returned") and can_register_prereview(user, item.unit)


def can_record_prereview_outcome(user, item: PrereviewItem) -> bool:
    """After approval the organiser records that the event was held or cancelled, or the post published."""
    return item.status == "approved" and can_register_prereview(user, item.unit)


def can_manage_prereview_kind(user, kind: PrereviewKind) -> bool:
    return user.role == ADMIN and in_scope(user, kind.unit)


def prereview_deciding_unit_id(unit_path: str, level: str, kinds_by_id: dict[int, str]) -> int:
    """The unit whose `role` decides a stage of an item organised at `unit_path`.

    own: the organising unit; top: the root of its tree; branch / general: the nearest unit of that kind
    at or above the organiser (an organiser above that level decides itself).
    """
    path_ids = [int(part) for part in unit_path.strip("/").split("/") if part]
    if level == "top":
        return path_ids[0]
    if level in ("branch", "general"):
        for unit_id in reversed(path_ids):
            if kinds_by_id.get(unit_id) == level:
                return unit_id
    return path_ids[-1]


def unit_kinds_on_paths(paths) -> dict[int, str]:
    """{unit id: kind} of every unit on the given paths, enclosing units included (ids and kinds only)."""
    ids = {int(part) for path in paths for part in path.strip("/").split("/") if part}
    if not ids:
        return {}
    query = db.select(Unit.id, Unit.kind).where(Unit.id.in_(ids)).execution_options(unscoped=True)
    return dict(db.session.execute(query).all())


def can_decide_prereview(user, item: PrereviewItem, kinds_by_id: dict[int, str] | None = None) -> bool:
    """The role the item's current stage names, at the unit that stage names; never the submitter."""
    stage = item.current_stage
    if stage is None or not in_scope(user, item.unit):
        return False
    if user.id in (item.submitted_by_id, item.created_by_id):
        return False  # nobody reviews their own submission
    if user.role != stage.get("role"):
        return False
    if kinds_by_id is None:
        kinds_by_id = unit_kinds_on_paths([item.unit.path])
    return user.unit_id == prereview_deciding_unit_id(item.unit.path, stage.get("level", "own"), kinds_by_id)
