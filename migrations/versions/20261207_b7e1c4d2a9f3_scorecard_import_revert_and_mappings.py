"""scorecard imports: reverting an import, and the column mapping remembered per file layout

Revision ID: b7e1c4d2a9f3
Revises: b7c41e9a2d53
Create Date: 2026-12-07 05:30:00

"""
from alembic import op
import sqlalchemy as sa

import lms.core.db


# revision identifiers, used by Alembic.
revision = 'b7e1c4d2a9f3'
down_revision = 'b7c41e9a2d53'
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
    op.add_column('scorecard_import', sa.Column('reverted_at', lms.core.db.UTCDateTime(timezone=True), nullable=True))
    if op.get_bind().dialect.name == 'sqlite':
        # ADD COLUMN with its reference, not a batch copy: a batch drops and rebuilds
        # scorecard_import, which stored values refer to (refused with foreign keys on).
        op.execute('ALTER TABLE scorecard_import ADD COLUMN reverted_by_id INTEGER '
                   'CONSTRAINT fk_scorecard_import_reverted_by_id_user_account '
                   'REFERENCES user_account (id)')
    else:
        op.add_column('scorecard_import', sa.Column('reverted_by_id', sa.Integer(), nullable=True))
        op.create_foreign_key(op.f('fk_scorecard_import_reverted_by_id_user_account'), 'scorecard_import', 'user_account', ['reverted_by_id'], ['id'])


def downgrade():
    if op.get_bind().dialect.name != 'sqlite':
        op.drop_constraint(op.f('fk_scorecard_import_reverted_by_id_user_account'), 'scorecard_import', type_='foreignkey')
    with op.batch_alter_table('scorecard_import', schema=None) as batch_op:
        batch_op.drop_column('reverted_by_id')  # (on SQLite, its reference goes with it)
        batch_op.drop_column('reverted_at')
    op.drop_table('scorecard_import_mapping')
