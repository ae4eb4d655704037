"""pre-review register: kinds with their stages, items, their history (steps) and attached material

Revision ID: 0005_prereview
Revises: 0004_pending_uploads
"""
from alembic import op
import sqlalchemy as sa

revision = '0005_prereview'
down_revision = '0004_pending_uploads'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('prereview_kind',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=60), nullable=False),
    sa.Column('category', sa.String(length=10), nullable=False),
    sa.Column('lead_days', sa.Integer(), nullable=False),
    sa.Column('stages_json', sa.Text(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], name=op.f('fk_prereview_kind_unit_id_unit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_prereview_kind')),
    sa.UniqueConstraint('unit_id', 'name', name=op.f('uq_prereview_kind_unit_id'))
    )
    with op.batch_alter_table('prereview_kind', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_prereview_kind_unit_id'), ['unit_id'], unique=False)

    op.create_table('prereview_item',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('kind_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('held_on', sa.Date(), nullable=False),
    sa.Column('place', sa.String(length=200), nullable=False),
    sa.Column('channel', sa.String(length=200), nullable=False),
    sa.Column('speaker', sa.String(length=200), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('stage', sa.Integer(), nullable=False),
    sa.Column('round', sa.Integer(), nullable=False),
    sa.Column('late', sa.Boolean(), nullable=False),
    sa.Column('review_comment', sa.Text(), nullable=False),
    sa.Column('outcome_on', sa.Date(), nullable=True),
    sa.Column('outcome_link', sa.String(length=500), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('submitted_by_id', sa.Integer(), nullable=True),
    sa.Column('first_submitted_at', sa.DateTime(), nullable=True),
    sa.Column('submitted_at', sa.DateTime(), nullable=True),
    sa.Column('decided_at', sa.DateTime(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_prereview_item_created_by_id_user_account')),
    sa.ForeignKeyConstraint(['kind_id'], ['prereview_kind.id'], name=op.f('fk_prereview_item_kind_id_prereview_kind')),
    sa.ForeignKeyConstraint(['submitted_by_id'], ['user_account.id'], name=op.f('fk_prereview_item_submitted_by_id_user_account')),
    sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], name=op.f('fk_prereview_item_unit_id_unit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_prereview_item'))
    )
    with op.batch_alter_table('prereview_item', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_prereview_item_held_on'), ['held_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_prereview_item_kind_id'), ['kind_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_prereview_item_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_prereview_item_unit_id'), ['unit_id'], unique=False)
        batch_op.create_index('ix_prereview_item_unit_status', ['unit_id', 'status'], unique=False)

    op.create_table('prereview_file',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('content_type', sa.String(length=100), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=True),
    sa.Column('uploaded_by_id', sa.Integer(), nullable=True),
    sa.Column('uploaded_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['prereview_item.id'], name=op.f('fk_prereview_file_item_id_prereview_item')),
    sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], name=op.f('fk_prereview_file_unit_id_unit')),
    sa.ForeignKeyConstraint(['uploaded_by_id'], ['user_account.id'], name=op.f('fk_prereview_file_uploaded_by_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_prereview_file'))
    )
    with op.batch_alter_table('prereview_file', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_prereview_file_item_id'), ['item_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_prereview_file_unit_id'), ['unit_id'], unique=False)

    op.create_table('prereview_step',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('round', sa.Integer(), nullable=False),
    sa.Column('stage', sa.Integer(), nullable=False),
    sa.Column('stage_name', sa.String(length=60), nullable=False),
    sa.Column('action', sa.String(length=20), nullable=False),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['prereview_item.id'], name=op.f('fk_prereview_step_item_id_prereview_item')),
    sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], name=op.f('fk_prereview_step_unit_id_unit')),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_prereview_step_user_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_prereview_step'))
    )
    with op.batch_alter_table('prereview_step', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_prereview_step_item_id'), ['item_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_prereview_step_unit_id'), ['unit_id'], unique=False)



def downgrade():
    with op.batch_alter_table('prereview_step', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_prereview_step_unit_id'))
        batch_op.drop_index(batch_op.f('ix_prereview_step_item_id'))

    op.drop_table('prereview_step')
    with op.batch_alter_table('prereview_file', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_prereview_file_unit_id'))
        batch_op.drop_index(batch_op.f('ix_prereview_file_item_id'))

    op.drop_table('prereview_file')
    with op.batch_alter_table('prereview_item', schema=None) as batch_op:
        batch_op.drop_index('ix_prereview_item_unit_status')
        batch_op.drop_index(batch_op.f('ix_prereview_item_unit_id'))
        batch_op.drop_index(batch_op.f('ix_prereview_item_status'))
        batch_op.drop_index(batch_op.f('ix_prereview_item_kind_id'))
        batch_op.drop_index(batch_op.f('ix_prereview_item_held_on'))

    op.drop_table('prereview_item')
    with op.batch_alter_table('prereview_kind', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_prereview_kind_unit_id'))

    op.drop_table('prereview_kind')
