"""outbox marks messages carrying sign-in secrets

Revision ID: 1d44f5f3d55b
Revises: 3e1544793eb8
Create Date: 2026-11-25 08:47:38.316865

"""
from alembic import op
import sqlalchemy as sa

import lms.core.db


# revision identifiers, used by Alembic.
revision = '1d44f5f3d55b'
down_revision = '3e1544793eb8'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sensitive', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
    # Messages already queued with sign-in links are sensitive too.
    op.execute("UPDATE outbox_message SET sensitive = TRUE"
               " WHERE template IN ('invitation', 'password_reset')")
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.alter_column('sensitive', server_default=None)



def downgrade():
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.drop_column('sensitive')

