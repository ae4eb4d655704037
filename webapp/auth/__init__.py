"""Login, logout, language choice, the account page."""
from ..extensions import db, login_manager
from ..models import User
from .sessions import current_session


@login_manager.user_loader
def load_user(session_id: str):
    """Sessions name the user and the epoch they were issued in (deactivation or a reset ends them), and a
    server-side session row that must still be live (logout, idle and absolute expiry end it)."""
    try:
        user_id, epoch = (int(part) for part in session_id.split(":"))
    except ValueError:
        return None
    if current_session(user_id) is None:
        return None
    user = db.session.execute(
        db.select(User).where(User.id == user_id).execution_options(unscoped=True)).scalar_one_or_none()
    if user is None or not user.active or user.session_epoch != epoch:
        return None
    return user
