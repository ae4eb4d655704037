"""met rollups

Revision ID: 0011_met_rollups
Revises: 0010_activity_counters

Change stamps behind the dashboards' cached obligation figures (`met_rollup_stamp`, see
`webapp/activities/rollups.py`): row 0 for plans, tasks, requirements, assignments, units and kinds, one row per
college for its activity counters. Empty at first: a missing row reads as "never changed since the cache started".
"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0011_met_rollups'
down_revision = '0010_activity_counters'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('met_rollup_stamp',
    sa.Column('scope_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('stamp', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('scope_id', name=op.f('pk_met_rollup_stamp'))
    )


def downgrade():
    op.drop_table('met_rollup_stamp')
