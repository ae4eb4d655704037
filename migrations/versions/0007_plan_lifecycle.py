"""plan life and field-level merge: archived tasks, field version maps on ledger rows and activities

Revision ID: 0007_plan_lifecycle
Revises: 0006_reminders

`plan.revision_of_id` names the published plan a draft revision will update;
`plan_task.archived` marks a task a re-published plan dropped (its ledger rows keep their progress);
`ledger_row.field_versions` / `activity.field_versions` record which version last changed each field, so
a stale save of other fields is merged instead of refused. Plan status gains "withdrawn" (a string, no
schema change).
"""
import sqlalchemy as sa
from alembic import op

revision = '0007_plan_lifecycle'
down_revision = '0006_reminders'
branch_labels = None
depends_on = None


def upgrade():
    # Plain ADD COLUMN: a batch copy of plan_task on SQLite would drop the table, and its ON DELETE CASCADE
    # would take every ledger row with it.
    op.add_column('plan_task', sa.Column('archived', sa.Boolean(), nullable=False, server_default=sa.false()))
    op.add_column('ledger_row', sa.Column('field_versions', sa.Text(), nullable=True))
    op.add_column('activity', sa.Column('field_versions', sa.Text(), nullable=True))
    op.add_column('plan', sa.Column('revision_of_id', sa.Integer(), nullable=True))


def downgrade():
    sqlite = op.get_bind().dialect.name == 'sqlite'
    if sqlite:  # the batch copies below must not cascade: foreign keys off while tables are rebuilt
        op.execute('PRAGMA foreign_keys=OFF')
    with op.batch_alter_table('plan', schema=None) as batch_op:
        batch_op.drop_column('revision_of_id')
    with op.batch_alter_table('activity', schema=None) as batch_op:
        batch_op.drop_column('field_versions')
    with op.batch_alter_table('ledger_row', schema=None) as batch_op:
        batch_op.drop_column('field_versions')
    with op.batch_alter_table('plan_task', schema=None) as batch_op:
        batch_op.drop_column('archived')
    if sqlite:
        op.execute('PRAGMA foreign_keys=ON')
