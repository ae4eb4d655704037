from flask import Blueprint, render_template

from ..permissions import ADMIN, SECRETARY, roles_required

bp = Blueprint("reports", __name__)


@bp.route("/overview")
@roles_required(ADMIN, SECRETARY)
def dashboard():
    return render_template("main/placeholder.html")
