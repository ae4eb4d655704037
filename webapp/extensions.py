"""Extensions are created here and bound to the app in create_app()."""
from functools import cached_property

from flask import g
from flask_babel import Babel, Domain
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import MetaData

from .csrf import SessionCSRFProtect

# Named constraints keep Alembic migrations portable between SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

db = SQLAlchemy(metadata=MetaData(naming_convention=NAMING))
migrate = Migrate(render_as_batch=True)
login_manager = LoginManager()
csrf = SessionCSRFProtect()


class _RequestCachedDomain(Domain):
    """Flask-Babel finds the catalogue anew for every gettext (the locale, its name, a dict look-up: ~7 µs, and a page
    asks ~100 times); this keeps it for the rest of the request, as long as the locale object is the same one
    (force_locale, e.g. for an e-mail in the recipient's language, swaps it and so gets its own catalogue)."""

    def get_translations(self):
        try:
            state = g._flask_babel
            locale, translations = state.taizhang_translations
            if locale is state.babel_locale:
                return translations
        except (AttributeError, RuntimeError):  # nothing kept yet, or no app context
            pass
        translations = super().get_translations()
        try:
            state = g._flask_babel
            state.taizhang_translations = (state.babel_locale, translations)
        except (AttributeError, RuntimeError):
            pass
        return translations


class _Babel(Babel):
    @cached_property
    def domain_instance(self):
        return _RequestCachedDomain(domain=self.domain)


babel = _Babel()
