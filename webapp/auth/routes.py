import re
from datetime import timedelta
from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, jsonify, redirect, render_template, request, session, url_for
from flask_babel import format_datetime, format_timedelta, get_locale, gettext as _
from flask_login import current_user, login_user, logout_user
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup, escape

from ..csrf import forget_csrf_token
from ..permissions import roles_required
from . import sessions
from .forms import LoginForm
from .services import authenticate, reserve_attempt, set_locale

bp = Blueprint("auth", __name__)


# Browsers read "\" as "/" and drop tabs and newlines, so "/\evil.example" or "/\t/evil.example" leave the site.
_UNSAFE_IN_NEXT = re.compile(r"[\\\x00-\x20\x7f]")


def _safe_next(target: str | None) -> str:
    # Only same-site relative paths: an open redirect would let a link send users elsewhere.
    if (target and target.startswith("/") and not target.startswith("//") and not _UNSAFE_IN_NEXT.search(target)
            and not urlsplit(target).netloc):
        return target
    return url_for("main.home")


@bp.app_context_processor
def session_timing():
    return {"session_seconds_left": sessions.seconds_left, "relogin_dialog": relogin_dialog}


# The re-login dialog is on every page and its texts and links are the same on each (its ~15 gettext and url_for
# calls were ~0.1 ms of every page): rendered once per language with a marker in each slot that differs, then filled.
_RELOGIN_SLOTS = ("username", "login_next", "seconds_left")
_RELOGIN_MARKERS = {slot: f"RELOGIN-SLOT-{slot}-8b1f" for slot in _RELOGIN_SLOTS}
_relogin_shells: dict[tuple, str] = {}


def relogin_slots() -> dict:
    page_url_for = current_app.jinja_env.globals["url_for"]  # the templates' url_for (templating.py): kept per path
    return {"username": current_user.username, "login_next": page_url_for("auth.login", next=request.path),
            "seconds_left": sessions.seconds_left()}


def relogin_dialog() -> Markup:
    """templates/auth/_relogin.html for this page, as rendering it with relogin_slots() would give it."""
    config = current_app.config
    key = (str(get_locale()), request.script_root, config["SESSION_IDLE_SECONDS"], config["SESSION_ABSOLUTE_SECONDS"])
    shell = _relogin_shells.get(key)
    if shell is None:
        shell = _relogin_shells[key] = render_template("auth/_relogin.html", slots=_RELOGIN_MARKERS)
    for slot, value in relogin_slots().items():
        shell = shell.replace(_RELOGIN_MARKERS[slot], escape(value))  # as the template's autoescape would
    return Markup(shell)


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated and request.method == "GET":
        return redirect(url_for("main.home"))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        username = form.username.data.strip()
        address = request.remote_addr or "unknown"
        if not reserve_attempt(username, address):
            minutes = current_app.config["LOGIN_WINDOW_SECONDS"] // 60
            form.form_errors.append(
                _("Too many failed logins for this name. Please wait %(minutes)s minutes and try again.",
                  minutes=minutes))
            status = 429
        else:
            user = authenticate(username, form.password.data, address)
            if user is not None:
                # A fresh session on login: nothing an attacker planted before survives (no fixation).
                next_url = _safe_next(request.args.get("next"))
                session.clear()
                forget_csrf_token()
                login_user(user)
                sessions.login_session(user)
                return redirect(next_url)
            form.form_errors.append(_("Wrong login name or password."))
    elif request.method == "POST":
        status = 400 if form.errors.get("csrf_token") else 200
    return render_template("auth/login.html", form=form), status


@bp.route("/logout", methods=["POST"])
def logout():
    sessions.end_current_session()  # the cookie is refused from now on, wherever a copy of it is
    logout_user()
    session.clear()
    forget_csrf_token()
    flash(_("You have logged out."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/language", methods=["POST"])
def language():
    """Remember the chosen language: on the account when logged in, in a cookie otherwise."""
    lang = request.form.get("lang", "")
    if lang not in current_app.config["LANGUAGES"]:
        lang = current_app.config["BABEL_DEFAULT_LOCALE"]
    if current_user.is_authenticated:
        set_locale(current_user, lang)
    response = redirect(_safe_next(request.form.get("next")))
    response.set_cookie("lang", lang, max_age=365 * 24 * 3600, samesite="Lax", httponly=True,
                        secure=sessions.cookie_secure())
    return response


@bp.route("/account")
@roles_required()
def account():
    config = current_app.config
    return render_template(
        "auth/account.html", sessions=sessions.live_sessions(current_user), is_current=sessions.is_current,
        local_time=lambda moment, pattern: format_datetime(moment, pattern),
        session_idle=format_timedelta(timedelta(seconds=config["SESSION_IDLE_SECONDS"]), threshold=1),
        session_absolute=format_timedelta(timedelta(seconds=config["SESSION_ABSOLUTE_SECONDS"]), threshold=1))


@bp.route("/account/sessions/end-others", methods=["POST"])
@roles_required()
def end_other_sessions():
    ended = sessions.end_other_sessions(current_user)
    flash(_("%(count)s other sessions were ended.", count=ended), "success")
    return redirect(url_for("auth.account"))


@bp.route("/session")
@roles_required()
def session_status():
    """For the page's script: is this browser still logged in, and the CSRF token of its current session."""
    return jsonify(user=current_user.username, csrf=generate_csrf())
