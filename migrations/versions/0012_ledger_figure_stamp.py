"""ledger figure stamp

Revision ID: 0012_ledger_figure_stamp
Revises: 0011_met_rollups

Change stamps behind the dashboards' cached ledger figures (`ledger_figure_stamp`, see
`webapp/reports/ledger_rollups.py`): row 0 for ledger rows created or deleted, one row per college for a status
change of one of its rows. Empty at first: a missing row reads as "never changed since the cache started".
"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0012_ledger_figure_stamp'
down_revision = '0011_met_rollups'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('ledger_figure_stamp',
    sa.Column('scope_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('stamp', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('scope_id', name=op.f('pk_ledger_figure_stamp'))
    )


def downgrade():
    op.drop_table('ledger_figure_stamp')
