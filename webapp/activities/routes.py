from flask import Blueprint, render_template

from ..permissions import roles_required

bp = Blueprint("activities", __name__, url_prefix="/activities")


@bp.route("/")
@roles_required()
def index():
    return render_template("main/placeholder.html")


@bp.route("/new")
@roles_required()
def new():
    return render_template("main/placeholder.html")
