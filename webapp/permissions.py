"""Where every permission is decided: roles, scope (a unit's subtree), route guards, object checks.

Scope is enforced by the ORM, not by each query: while a logged-in user's request runs, every
SELECT of a unit-owned model gets "unit_id IN (this user's subtree)" added (see `_apply_scope`).
A query that forgets the filter is still scoped; a query that must see everything goes through one of
the named escapes below ("deliberate escapes from the scope"). Objects outside the scope look missing (404).
The scope fails closed: a logged-in request whose scope was never set is an error, not an unscoped query.
"""
from __future__ import annotations

from functools import lru_cache, wraps
from urllib.parse import urlsplit

from flask import abort, g, has_request_context, make_response, redirect, request, url_for
from flask_login import current_user
from sqlalchemy import event, false, func, or_, select
from sqlalchemy.orm import Session, with_loader_criteria

from .extensions import db, login_manager
from .htmx import is_htmx
from .models import (Activity, ActivityCounter, ActivityKind, AuditEntry, LedgerRow, Nudge, Plan, PrereviewFile,
                     PrereviewItem, PrereviewKind, PrereviewStep, Reminder, ReminderDelivery, StoredFile, Task, TaskAssignment, Unit,
                     UnitRobot, User)

ADMIN, SECRETARY, STAFF, MONITOR = "admin", "secretary", "staff", "monitor"


# ---- scope -------------------------------------------------------------------------------------

class ScopeNotSet(RuntimeError):
    """A logged-in request selected unit-owned rows before its scope was set: refused, never unscoped."""


def activate_scope(user) -> None:
    """Called once per request after login is resolved: from here on every select is scoped."""
    g.activating_scope = True  # reading the user's own unit is what sets the scope: allowed before it
    try:
        unit = user.unit
    finally:
        g.activating_scope = False
    g.scope_path = path = unit.path
    # Built once per subtree and reused: constructing the criteria on every SELECT cost a fifth of an edit's
    # CPU, and reusing the same option objects lets SQLAlchemy memoise their cache keys across requests.
    g.scope_options = _scope_criteria(path)


def authenticate_bearer() -> None:
    """An API request with `Authorization: Bearer <token>` acts as the token's user, with exactly that user's role
    and scope: the cookie session is neither read nor written, and `activate_scope` then runs for that user as
    for a login. A bad token leaves the request anonymous with the reason in `g.api_token_problem`."""
    if request.blueprint != "api":
        return  # tokens open the API only, never the site's pages
    scheme, _, secret = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return
    from .api.tokens import authenticate
    check = authenticate(secret.strip())
    g.api_token = check.token if check.user is not None else None
    g.api_token_problem = check.problem
    g._login_user = check.user if check.user is not None else login_manager.anonymous_user()


def scope_path() -> str | None:
    return g.get("scope_path") if has_request_context() else None


def scope_pattern() -> str:
    """The user's subtree as a LIKE pattern on a unit's path (escape character backslash), for the Core statements
    of the ledger's hot paths, which run on the session's connection where the ORM hook does not see them: they say
    `Unit.path LIKE :scope` with this value. Fails closed like the hook."""
    path = scope_path()
    if path is None:
        raise ScopeNotSet("a Core statement asked for the scope before activate_scope()")
    return path.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


@lru_cache(maxsize=4096)
def _scope_criteria(path: str) -> tuple:
    """The loader criteria of one subtree: immutable SQL expressions, safe to share between requests and threads."""
    ancestor_ids = [int(part) for part in path.strip("/").split("/") if part]  # as Unit.ancestor_ids reads them
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
        with_loader_criteria(ActivityCounter, ActivityCounter.unit_id.in_(subtree), include_aliases=True),
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
        # Reminders, digests, robots and nudges belong to the unit they are about.
        with_loader_criteria(Reminder, Reminder.unit_id.in_(subtree), include_aliases=True),
        with_loader_criteria(ReminderDelivery, ReminderDelivery.unit_id.in_(subtree), include_aliases=True),
        with_loader_criteria(UnitRobot, UnitRobot.unit_id.in_(subtree), include_aliases=True),
        with_loader_criteria(Nudge, Nudge.unit_id.in_(subtree), include_aliases=True),
    )


@event.listens_for(Session, "do_orm_execute")
def _apply_scope(state):
    if not (state.is_select and has_request_context()):
        return
    if state.execution_options.get("unscoped") or state.is_column_load:
        return
    options = g.get("scope_options")
    if options is None:
        user = g.get("_login_user")  # set by Flask-Login once the session is resolved; read without loading
        if user is not None and user.is_authenticated and not g.get("activating_scope"):
            raise ScopeNotSet("a logged-in request selected scoped rows before activate_scope()")
        return
    if state.is_relationship_load and _carries(state.statement, options):
        return  # a lazy or selectin load of an object loaded under this scope: the criteria came along with it
    state.statement = state.statement.options(*options)


def _carries(statement, options: tuple) -> bool:
    """The criteria already travel with the statement (with_loader_criteria propagates to relationship loads):
    adding them again would repeat every subtree subquery in the SQL and cost its cache key twice."""
    present = {id(option) for option in statement._with_options}
    return all(id(option) in present for option in options)


# ---- deliberate escapes from the scope ---------------------------------------------------------------
# Each names why it may see past the user's subtree; nothing else says execution_options(unscoped=True)
# (except the login code in webapp/auth, which runs before there is a user).

def _unscoped(statement):
    return statement.execution_options(unscoped=True)


def system_job_options() -> dict:
    """Reminder runs and nudges address people the acting user may not list (reviewers above, every unit of a
    run): pass these to `execution_options` in that area only."""
    return {"unscoped": True}


def enclosing_units(unit: Unit) -> list[Unit]:
    """The units on `unit`'s path, top first: the units enclosing a user's subtree are outside the scope, yet
    their plans and standard kinds apply inside it."""
    units = db.session.execute(_unscoped(select(Unit).where(Unit.id.in_(unit.ancestor_ids)))).scalars()
    return sorted(units, key=lambda u: u.depth)


def references_to_unit(count_statement) -> int:
    """Count rows that reference a unit, wherever they are: deleting or moving the unit must see them all."""
    return db.session.execute(_unscoped(count_statement)).scalar_one()


def token_owner(user_id: int) -> User | None:
    """The user an API token acts as: looked up before there is a user (and a scope), like a login."""
    return db.session.execute(_unscoped(select(User).where(User.id == user_id))).scalar_one_or_none()


def login_name_exists(username: str) -> bool:
    """Login names are unique across the whole site, not only in one admin's subtree."""
    query = select(User.id).where(func.lower(User.username) == username.lower())
    return db.session.execute(_unscoped(query)).first() is not None


def actor_names(user_ids) -> dict[int, str]:
    """Display names of the people who acted (edited a row, reviewed an activity, wrote an audit entry), shown
    to everyone who sees what they did, even when they belong to a unit above the viewer. Names only: lists
    of users stay scoped."""
    ids = {user_id for user_id in user_ids if user_id is not None}
    if not ids:
        return {}
    rows = db.session.execute(_unscoped(select(User.id, User.display_name).where(User.id.in_(ids))))
    return dict(rows.all())


def unit_path_of(unit_id_column):
    """The path of the unit in `unit_id_column`, as a SQL subquery over the bare table: the unit that issued a plan
    may enclose the viewer's subtree, and its path says which kinds the plan's requirements may name."""
    units = Unit.__table__
    return select(units.c.path).where(units.c.id == unit_id_column).scalar_subquery()


def assignments_around_scope(statement):
    """Task assignments of units above the viewer's subtree decide who owes an obligation inside it."""
    return db.session.execute(_unscoped(statement))


def in_scope(user, unit: Unit | None) -> bool:
    return unit is not None and unit.path.startswith(user.unit.path)


# ---- what a role may do ------------------------------------------------------------------------

def can_edit_unit_ledger(user, unit: Unit) -> bool:
    """Staff edit ledgers in their subtree, monitors only their own class's, admins any in scope."""
    return in_scope(user, unit) and may_edit_ledger_of(user, unit.id)


def may_edit_ledger_of(user, unit_id: int) -> bool:
    """`can_edit_unit_ledger` for a unit already known to be in the user's scope (a row read under it)."""
    if user.role in (ADMIN, STAFF):
        return True
    return user.role == MONITOR and unit_id == user.unit_id


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


def can_nudge(user, unit: Unit) -> bool:
    """催办: a secretary or staff member reminds a unit below their own."""
    return user.role in (SECRETARY, STAFF) and in_scope(user, unit) and unit.id != user.unit_id


def can_manage_robot(user, unit: Unit) -> bool:
    return user.role == ADMIN and in_scope(user, unit)


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


def permitted(check, obj):
    """`obj` if the current user passes `check(user, obj)`, else 403 (a loaded object: it is in the scope)."""
    if obj is None:
        abort(404)
    if not check(current_user, obj):
        abort(403)
    return obj


def get_permitted(model, object_id: int, check):
    """404 if missing or out of scope, 403 if in scope but not this user's to act on (flaskr's get_post)."""
    return permitted(check, get_or_404(model, object_id))


def can_edit_all_rows(user, rows) -> bool:
    """A whole ledger (an Excel re-import) is the user's to change only if every one of its rows is."""
    return bool(rows) and all(can_edit_ledger_row(user, row) for row in rows)


def can_see_obligations_page_only(user) -> bool:
    """Monitors look at their own class's obligations; the others at the compliance grid."""
    return user.role == MONITOR


def can_manage_kinds(user) -> bool:
    return user.role == ADMIN


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
