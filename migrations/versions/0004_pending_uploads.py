"""pending uploads: photos chosen on an activity form survive a validation error

Revision ID: 0004_pending_uploads
Revises: 0003_perf_indexes

A stored file with `pending_draft` set belongs to no activity yet: it waits under the form's draft key
until the activity is saved, and is removed after a day otherwise.
"""
from alembic import op
import sqlalchemy as sa

revision = '0004_pending_uploads'
down_revision = '0003_perf_indexes'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('stored_file', schema=None) as batch_op:
        batch_op.add_column(sa.Column('pending_draft', sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f('ix_stored_file_pending_draft'), ['pending_draft'], unique=False)


def downgrade():
    with op.batch_alter_table('stored_file', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_stored_file_pending_draft'))
        batch_op.drop_column('pending_draft')
