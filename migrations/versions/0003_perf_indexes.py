"""covering indexes for the dashboard's activity aggregates

Revision ID: 0003_perf_indexes
Revises: 0002_kind_owner

(unit_id, kind_id, held_on) becomes (unit_id, kind_id, held_on, status), so compliance counts of
approved activities read the index only; (unit_id, updated_at, held_on) finds each unit's
"last update" in a year by reading its newest entries backwards.
"""
from alembic import op

revision = '0003_perf_indexes'
down_revision = '0002_kind_owner'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('activity', schema=None) as batch_op:
        batch_op.drop_index('ix_activity_unit_kind_date')
        batch_op.create_index('ix_activity_unit_kind_date_status', ['unit_id', 'kind_id', 'held_on', 'status'],
                              unique=False)
        batch_op.create_index('ix_activity_unit_updated_date', ['unit_id', 'updated_at', 'held_on'], unique=False)


def downgrade():
    with op.batch_alter_table('activity', schema=None) as batch_op:
        batch_op.drop_index('ix_activity_unit_updated_date')
        batch_op.drop_index('ix_activity_unit_kind_date_status')
        batch_op.create_index('ix_activity_unit_kind_date', ['unit_id', 'kind_id', 'held_on'], unique=False)
