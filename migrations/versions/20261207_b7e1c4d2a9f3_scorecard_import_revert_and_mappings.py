"""scorecard imports: reverting an import, and the column mapping remembered per file layout

Revision ID: b7e1c4d2a9f3
Revises: 6d8e3f0a2b04
Create Date: 2026-12-07 05:30:00

"""
from alembic import op
import sqlalchemy as sa

import lms.core.db


# revision identifiers, used by Alembic.
revision = 'b7e1c4d2a9f3'
down_revision = '6d8e3f0a2b04'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('scorecard_import_mapping',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('layout', sa.String(length=64), nullable=False),
    sa.Column('mapping', sa.JSON(), nullable=False),
    sa.Column('used_at', lms.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_scorecard_import_mapping')),
    sa.UniqueConstraint('layout', name=op.f('uq_scorecard_import_mapping_layout'))
    )
    with op.batch_alter_table('scorecard_import', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reverted_at', lms.core.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('reverted_by_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_scorecard_import_reverted_by_id_user_account'), 'user_account', ['reverted_by_id'], ['id'])


def downgrade():
    with op.batch_alter_table('scorecard_import', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_scorecard_import_reverted_by_id_user_account'), type_='foreignkey')
        batch_op.drop_column('reverted_by_id')
        batch_op.drop_column('reverted_at')
    op.drop_table('scorecard_import_mapping')
