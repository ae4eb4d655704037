"""Activity kinds belong to a unit: names are unique per owner, visibility follows the unit tree.

Existing kinds go to the top unit (parent_id NULL, lowest id), which held the one site-wide catalogue.

Revision ID: 0002_kind_owner
Revises: 0001_initial
"""
import sqlalchemy as sa
from alembic import op

revision = '0002_kind_owner'
down_revision = '0001_initial'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('activity_kind', schema=None) as batch_op:
        batch_op.add_column(sa.Column('unit_id', sa.Integer(), nullable=True))

    connection = op.get_bind()
    top_unit = connection.execute(sa.text(
        "SELECT id FROM unit WHERE parent_id IS NULL ORDER BY id LIMIT 1")).scalar()
    if top_unit is not None:
        connection.execute(sa.text("UPDATE activity_kind SET unit_id = :unit"), {"unit": top_unit})
    elif connection.execute(sa.text("SELECT COUNT(*) FROM activity_kind")).scalar():
        # Kinds are only ever made for a unit's users, so this is a broken database: say so, delete nothing.
        raise RuntimeError("activity_kind has rows but there is no unit to own them")

    with op.batch_alter_table('activity_kind', schema=None) as batch_op:
        batch_op.alter_column('unit_id', existing_type=sa.Integer(), nullable=False)
        batch_op.drop_constraint('uq_activity_kind_name', type_='unique')
        batch_op.create_unique_constraint(batch_op.f('uq_activity_kind_unit_id'), ['unit_id', 'name'])
        batch_op.create_index(batch_op.f('ix_activity_kind_unit_id'), ['unit_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_activity_kind_unit_id_unit'), 'unit', ['unit_id'], ['id'])


def downgrade():
    with op.batch_alter_table('activity_kind', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_activity_kind_unit_id_unit'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_activity_kind_unit_id'))
        batch_op.drop_constraint(batch_op.f('uq_activity_kind_unit_id'), type_='unique')
        # Names were unique site-wide before: fails loudly if two units now share a kind name.
        batch_op.create_unique_constraint(batch_op.f('uq_activity_kind_name'), ['name'])
        batch_op.drop_column('unit_id')
