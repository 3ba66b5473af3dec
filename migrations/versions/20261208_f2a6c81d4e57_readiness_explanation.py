"""readiness explanation: the stored score keeps what the readiness page shows beyond the
gaps and the sentence (who is behind each gap, the forecast's horizons and needs), as codes,
numbers and the first ids of each list; empty on existing rows until the next recompute

Revision ID: f2a6c81d4e57
Revises: e7b3f91c4a2d
Create Date: 2026-12-08 20:10:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'f2a6c81d4e57'
down_revision = 'e7b3f91c4a2d'
branch_labels = None
depends_on = None


def upgrade():
    # Nullable: rows stored before are explained by the page itself until a recompute
    # (the next hourly one at the latest) fills them.
    with op.batch_alter_table('readiness_score', schema=None) as batch_op:
        batch_op.add_column(sa.Column('explanation', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('readiness_score', schema=None) as batch_op:
        batch_op.drop_column('explanation')
