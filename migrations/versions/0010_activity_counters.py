"""activity counters

Revision ID: 0010_activity_counters
Revises: 0009_sessions

Approved activities per unit × kind × period (`activity_counter`), filled from the existing activities.
"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0010_activity_counters'
down_revision = '0009_sessions'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('activity_counter',
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('kind_id', sa.Integer(), nullable=False),
    sa.Column('cadence', sa.String(length=20), nullable=False),
    sa.Column('period', sa.String(length=30), nullable=False),
    sa.Column('first_day', sa.Date(), nullable=False),
    sa.Column('last_day', sa.Date(), nullable=False),
    sa.Column('approved', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['kind_id'], ['activity_kind.id'], name=op.f('fk_activity_counter_kind_id_activity_kind'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], name=op.f('fk_activity_counter_unit_id_unit'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('unit_id', 'kind_id', 'cadence', 'period', name=op.f('pk_activity_counter'))
    )
    # Fill it from the activities already there (the same SELECTs as `flask recount`).
    from webapp.activities.counters import recount
    recount(op.get_bind(), stamp=False)  # the stamps' table comes in 0011


def downgrade():
    op.drop_table('activity_counter')
