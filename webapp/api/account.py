"""The account page's access-token block (`/account/tokens`) and the API's reference page (`/api/docs`).

Both are pages of the site (cookie login, CSRF on every POST); a Bearer token does not open them."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import format_datetime, gettext as _, lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import IntegerField, SelectField, StringField
from wtforms.validators import AnyOf, DataRequired, InputRequired, Length, NumberRange

from ..activities.forms import choices
from ..params import optional_positive_int
from ..permissions import roles_required
from . import tokens

bp = Blueprint("api_account", __name__)

ACCESS_LABELS = {"read_only": _l("Read only"), "read_write": _l("Read and write")}


class TokenForm(FlaskForm):
    name = StringField(_l("Name"), validators=[
        DataRequired(message=_l("Enter a name, e.g. the system that will use the token.")),
        Length(max=tokens.NAME_MAX, message=_l("At most %(max)d characters."))])
    access = SelectField(_l("Access"), choices=choices(ACCESS_LABELS), default="read_only",
                         validators=[AnyOf(list(ACCESS_LABELS), message=_l("Choose from the list."))])
    days = IntegerField(_l("Valid for (days)"), default=90, validators=[
        InputRequired(message=_l("Enter a number.")),
        NumberRange(min=1, max=365, message=_l("Enter a number from 1 to 365."))])


def token_block(form: TokenForm | None = None, secret: str | None = None) -> dict:
    """What the tokens block (templates/api/_tokens.html) shows, on its own page or on the account page."""
    return {"form": form or TokenForm(formdata=None), "tokens": tokens.tokens_of(current_user), "secret": secret,
            "access_labels": ACCESS_LABELS, "now": tokens.utcnow(), "format_datetime": format_datetime}


@bp.app_context_processor
def _token_block():
    # Any page (the account page) can include the block: it fetches its own state when included.
    return {"api_token_block": token_block}


def render_tokens(form: TokenForm, status: int = 200, secret: str | None = None):
    return render_template("api/tokens.html", api_tokens=token_block(form, secret)), status


@bp.route("/account/tokens")
@roles_required()
def token_list():
    return render_tokens(TokenForm())


@bp.route("/account/tokens", methods=["POST"])
@roles_required()
def create_token():
    form = TokenForm()
    if not form.validate_on_submit():
        return render_tokens(form, 422)
    _token, secret = tokens.create_token(current_user, form.name.data.strip(), form.access.data == "read_write",
                                         form.days.data)
    # Shown once, on this answer only: it is stored hashed and cannot be shown again.
    return render_tokens(TokenForm(formdata=None), 201, secret=secret)


@bp.route("/account/tokens/revoke", methods=["POST"])
@roles_required()
def revoke_token():
    """The token's id comes in the form; only the user's own tokens can be found, anyone else's is "not found"."""
    token_id = optional_positive_int(request.form.get("token_id", ""))
    if token_id is None or tokens.revoke_token(current_user, token_id) is None:
        flash(_("That token was not found or is already revoked."), "error")
    else:
        flash(_("The token was revoked: it no longer works."), "success")
    return redirect(url_for(".token_list"))


@bp.route("/api/docs")
@roles_required()
def docs():
    return render_template("api/docs.html")
