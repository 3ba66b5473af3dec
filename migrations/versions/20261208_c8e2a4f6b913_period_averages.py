"""a closed period's average score and readiness, stored when it closes, so the periods'
trend reads one row per period instead of averaging every frozen scorecard on each view

Revision ID: c8e2a4f6b913
Revises: b5d1e8c2f407
Create Date: 2026-12-08 21:30:00
"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = 'c8e2a4f6b913'
down_revision = 'b5d1e8c2f407'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('scorecard_period', sa.Column('average_score', sa.Float(), nullable=True))
    op.add_column('scorecard_period',
                  sa.Column('average_readiness', sa.Float(), nullable=True))
    # Snapshots never change once taken: their averages now are those of the closing.
    op.execute(
        "UPDATE scorecard_period SET "
        "average_score = (SELECT avg(score) FROM scorecard_snapshot s "
        "WHERE s.period_id = scorecard_period.id), "
        "average_readiness = (SELECT avg(readiness_total) FROM scorecard_snapshot s "
        "WHERE s.period_id = scorecard_period.id)")


def downgrade():
    # Plain DROP COLUMN (SQLite 3.35+): a batch copy of the table would reflect it first.
    op.drop_column('scorecard_period', 'average_readiness')
    op.drop_column('scorecard_period', 'average_score')
