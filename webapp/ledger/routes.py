from flask import Blueprint, render_template

from ..permissions import ADMIN, SECRETARY, roles_required

bp = Blueprint("ledger", __name__)


@bp.route("/units/<int:unit_id>/ledger")
@roles_required()
def unit_ledger(unit_id):
    return render_template("main/placeholder.html")


@bp.route("/ledger/changes")
@roles_required(ADMIN, SECRETARY)
def changes():
    return render_template("main/placeholder.html")
