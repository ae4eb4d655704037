"""Login, logout, language choice, the account page."""
from ..extensions import login_manager
from .sessions import session_user


@login_manager.user_loader
def load_user(session_id: str):
    """Sessions name the user and the epoch they were issued in (deactivation or a reset ends them), and a
    server-side session row that must still be live (logout, idle and absolute expiry end it)."""
    try:
        user_id, epoch = (int(part) for part in session_id.split(":"))
    except ValueError:
        return None
    user = session_user(user_id)  # the session row and the user in one SELECT
    if user is None or not user.active or user.session_epoch != epoch:
        return None
    return user
