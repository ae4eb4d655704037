"""Activity saves compare and set their version in SQL, as ledger saves do."""
from datetime import date

import pytest
from sqlalchemy import update

from tests.activities_factories import make_activity
from webapp.activities import services
from webapp.extensions import db
from webapp.models import Activity, AuditEntry, User


def test_activity_saved_by_someone_else_after_loading_is_a_conflict_not_an_overwrite(app, org):
    """The version check is in the UPDATE itself, so an edit that passed the form's check cannot overwrite a
    save that landed between loading the activity and committing (two reviewers, two editors)."""
    with app.app_context():
        activity_id = make_activity(org.units["class1"], "主题班会", date(2026, 3, 5), status="submitted")
        reviewer = db.session.get(User, org.users["staff2"])
        activity = db.session.get(Activity, activity_id)
        loaded_version = activity.version
        with db.engine.begin() as other:  # another reviewer returns it meanwhile
            other.execute(update(Activity).where(Activity.id == activity_id)
                          .values(status="returned", version=Activity.version + 1))
        with pytest.raises(services.WrongState):
            services.approve_activity(reviewer, activity)
        db.session.expire_all()
        stored = db.session.get(Activity, activity_id)
        assert (stored.status, stored.version) == ("returned", loaded_version + 1)
        assert not db.session.query(AuditEntry).filter_by(entity="activity", action="approve").count()
