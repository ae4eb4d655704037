from flask import Blueprint, render_template

from ..permissions import ADMIN, roles_required

bp = Blueprint("plans", __name__, url_prefix="/plans")


@bp.route("/")
@roles_required(ADMIN)
def index():
    return render_template("main/placeholder.html")
