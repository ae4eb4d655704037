"""plan life and field-level merge: archived tasks, field version maps on ledger rows and activities

Revision ID: 0004_plan_lifecycle
Revises: 0003_perf_indexes

`plan_task.archived` marks a task a re-published plan dropped (its ledger rows keep their progress);
`ledger_row.field_versions` / `activity.field_versions` record which version last changed each field, so
a stale save of other fields is merged instead of refused. Plan status gains "withdrawn" (a string, no
schema change).
"""
import sqlalchemy as sa
from alembic import op

revision = '0004_plan_lifecycle'
down_revision = '0003_perf_indexes'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('plan_task', schema=None) as batch_op:
        batch_op.add_column(sa.Column('archived', sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table('ledger_row', schema=None) as batch_op:
        batch_op.add_column(sa.Column('field_versions', sa.Text(), nullable=True))
    with op.batch_alter_table('activity', schema=None) as batch_op:
        batch_op.add_column(sa.Column('field_versions', sa.Text(), nullable=True))


def downgrade():
    with op.batch_alter_table('activity', schema=None) as batch_op:
        batch_op.drop_column('field_versions')
    with op.batch_alter_table('ledger_row', schema=None) as batch_op:
        batch_op.drop_column('field_versions')
    with op.batch_alter_table('plan_task', schema=None) as batch_op:
        batch_op.drop_column('archived')
