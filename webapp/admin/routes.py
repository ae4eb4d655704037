from flask import Blueprint, render_template

from ..permissions import ADMIN, roles_required

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.route("/units")
@roles_required(ADMIN)
def units():
    return render_template("main/placeholder.html")


@bp.route("/users")
@roles_required(ADMIN)
def users():
    return render_template("main/placeholder.html")
