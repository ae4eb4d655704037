"""Error pages: a fragment for htmx, a page otherwise; 500 rolls the session back."""
from flask import Blueprint, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError

from ..extensions import db
from ..htmx import is_htmx

bp = Blueprint("errors", __name__)

MESSAGES = {
    400: lambda: _("The request could not be understood."),
    403: lambda: _("You do not have permission to do this."),
    404: lambda: _("The page or record was not found."),
    405: lambda: _("This action is not allowed here."),
    409: lambda: _("Someone else changed this record first."),
    413: lambda: _("The upload is too large."),
    429: lambda: _("Too many attempts. Please try again later."),
    500: lambda: _("Something went wrong on our side. Nothing was saved; please try again."),
}


def render_error(status: int, message: str | None = None):
    message = message or MESSAGES.get(status, MESSAGES[500])()
    template = "errors/_error.html" if is_htmx() else "errors/error.html"
    return render_template(template, status=status, message=message), status


@bp.app_errorhandler(CSRFError)
def csrf_error(error):
    return render_error(400, _("The form expired or was sent without its security token. Reload the page and try again."))


@bp.app_errorhandler(400)
@bp.app_errorhandler(403)
@bp.app_errorhandler(404)
@bp.app_errorhandler(405)
@bp.app_errorhandler(413)
@bp.app_errorhandler(429)
def http_error(error):
    from ..api.errors import is_api_path, routing_error_response
    if request.url_rule is None and is_api_path(request.path):  # no API operation matched: answer as the API does
        return routing_error_response(error)
    if error.code == 413:  # the body was over MAX_CONTENT_LENGTH: say the limit, in the upload's own place
        from ..ledger.files import upload_too_large
        answer = upload_too_large()
        if answer is not None:
            return answer
        from ..uploads import too_large_message
        return render_error(413, too_large_message())
    return render_error(error.code, getattr(error, "description_override", None))


@bp.app_errorhandler(500)
def server_error(error):
    db.session.rollback()
    return render_error(500)
