"""The home page each role lands on, and the navigation shared by every page."""
from typing import NamedTuple

from flask import Blueprint, current_app, render_template, request, url_for
from flask_babel import get_locale, lazy_gettext as _l
from flask_login import current_user, login_required
from markupsafe import Markup, escape

from ..clock import local_today
from ..permissions import ADMIN, MONITOR, SECRETARY, STAFF

bp = Blueprint("main", __name__)

from ..labels import CATEGORY_LABELS, ROLE_LABELS, UNIT_KIND_LABELS  # noqa: E402

# (endpoint, label, roles, needs the user's unit id)
NAV = [
    ("main.home", _l("Home"), None, False),
    ("reports.dashboard", _l("Overview"), {ADMIN, SECRETARY, STAFF}, False),
    ("ledger.unit_ledger", _l("Ledger"), {SECRETARY, STAFF, MONITOR}, True),
    ("activities.index", _l("Activities"), None, False),
    ("prereview.index", _l("Pre-review"), None, False),
    ("plans.index", _l("Work plans"), {ADMIN}, False),
    ("admin.units", _l("Units"), {ADMIN}, False),
    ("admin.users", _l("Users"), {ADMIN}, False),
    ("activities.compliance_grid", _l("Compliance"), {ADMIN, SECRETARY, STAFF}, False),
    ("ledger.changes", _l("Change log"), {ADMIN, SECRETARY}, False),
]


class NavItem(NamedTuple):
    url: str
    label: str
    active: bool


def nav_items() -> tuple[NavItem, ...]:
    """The menu is the same for every page of one role, unit, language and current endpoint: built once per app
    process for each (~45 µs of url_for and gettext a page otherwise); cleared rather than grown past a few thousand."""
    user = current_user._get_current_object()
    key = (str(get_locale()), user.role, user.unit_id, request.endpoint, request.script_root)
    built = current_app.extensions.setdefault("taizhang_nav", {})
    items = built.get(key)
    if items is None:
        items = tuple(
            NavItem(url_for(endpoint, unit_id=user.unit_id) if with_unit else url_for(endpoint), str(label),
                    request.endpoint == endpoint)
            for endpoint, label, roles, with_unit in NAV if roles is None or user.role in roles)
        if len(built) >= 4096:
            built.clear()
        built[key] = items
    return items


_LAYOUT_HELPERS = {
    "nav_items": nav_items,
    "get_locale": get_locale,
    "role_label": lambda role: ROLE_LABELS.get(role, role),
    "unit_kind_label": lambda kind: UNIT_KIND_LABELS.get(kind, kind),
    "category_label": lambda category: CATEGORY_LABELS.get(category, ""),
}


@bp.app_context_processor
def layout_helpers():
    return {**_LAYOUT_HELPERS, "page_title": page_title}


def page_title(title: str) -> Markup:
    """The page's title, then the site name, each part once: "单位 · 台账", not "单位 · 台账 · 台账"."""
    parts: list[Markup] = []
    for part in [*Markup(title).split(" · "), escape(str(_l("Taizhang")))]:
        part = Markup(part.strip())
        if part and part not in parts:
            parts.append(part)
    return Markup(" · ").join(parts)


@bp.route("/")
@login_required
def home():
    return render_template(f"main/home_{current_user.role}.html", **_home_context())


def _home_context() -> dict:
    """Staff and monitors land on what their unit still owes this period; staff also on what awaits review."""
    if current_user.role not in (STAFF, MONITOR):
        return {}
    from ..activities import compliance, queries
    from ..activities.forms import CADENCE_LABELS, STATE_LABELS
    today = local_today()
    items = compliance.unit_obligations(*compliance.obligations_now(today, [current_user.unit_id]), today)
    returned = []
    if current_user.role == MONITOR:
        returned, _total = queries.activity_page(
            queries.ActivityFilters(unit_id=current_user.unit_id, status="returned"), current_user)
    return {
        "unit": current_user.unit, "items": [item for item in items if item.owed], "today": today,
        "returned": returned,
        "review_count": queries.review_queue_size(current_user) if current_user.role == STAFF else 0,
        "state_label": lambda state: STATE_LABELS.get(state, state),
        "cadence_label": lambda cadence: CADENCE_LABELS.get(cadence, cadence),
    }
