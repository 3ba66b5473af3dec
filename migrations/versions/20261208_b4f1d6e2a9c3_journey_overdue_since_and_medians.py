"""onboarding pages at any size (issue 13): a journey's overdue_since (the earliest due date
of its open milestones), a milestone's evidence_left_behind, their indexes, and the stored
median days of the vendor overview (taken by the periodic job, so the table starts empty
and the first `lms tick` fills it)

Revision ID: b4f1d6e2a9c3
Revises: f2a6c81d4e57
Create Date: 2026-12-08 19:00:00

"""
from alembic import op
import sqlalchemy as sa

import lms.core.db


# revision identifiers, used by Alembic.
revision = 'b4f1d6e2a9c3'
down_revision = 'f2a6c81d4e57'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('journey_median',
    sa.Column('template_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('measure', sa.String(length=20), nullable=False),
    sa.Column('stage_index', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('days', sa.Float(), nullable=False),
    sa.Column('computed_at', lms.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("measure IN ('stage', 'complete', 'certified')",
                       name=op.f('ck_journey_median_measure')),
    sa.PrimaryKeyConstraint('template_id', 'measure', 'stage_index',
                            name=op.f('pk_journey_median'))
    )
    op.add_column('journey', sa.Column('overdue_since', lms.core.db.UTCDateTime(timezone=True),
                                       nullable=True))
    # As service._overdue_since keeps it.
    op.execute("""
        UPDATE journey SET overdue_since = (
            SELECT min(m.due_at) FROM journey_milestone m
            WHERE m.journey_id = journey.id AND m.done_at IS NULL)""")
    op.create_index('ix_journey_template_started', 'journey',
                    ['template_id', 'started_at', 'id'], unique=False)
    op.create_index('ix_journey_template_states', 'journey',
                    ['template_id', 'current_stage', 'completed_at', 'overdue_since',
                     'stalls_at'], unique=False)
    op.create_index('ix_journey_organisation_states', 'journey',
                    ['organisation_id', 'scope', 'current_stage', 'completed_at',
                     'overdue_since', 'stalls_at'], unique=False)

    op.add_column('journey_milestone', sa.Column('evidence_left_behind', sa.Boolean(),
                                                 nullable=False, server_default=sa.false()))
    # As service.follow_person keeps it: the journey has moved to another partner.
    op.execute("""
        UPDATE journey_milestone SET evidence_left_behind = true
        WHERE evidence_organisation_id IS NOT NULL
          AND evidence_organisation_id != (SELECT j.organisation_id FROM journey j
                                           WHERE j.id = journey_milestone.journey_id)""")
    op.create_index('ix_journey_milestone_left_behind', 'journey_milestone',
                    ['evidence_organisation_id', 'done_at', 'id'], unique=False,
                    postgresql_where=sa.text('evidence_left_behind'),
                    sqlite_where=sa.text('evidence_left_behind = 1'))


def downgrade():
    op.drop_index('ix_journey_milestone_left_behind', table_name='journey_milestone',
                  postgresql_where=sa.text('evidence_left_behind'),
                  sqlite_where=sa.text('evidence_left_behind = 1'))
    # In place (SQLite 3.35+): a batch copy would reflect every table it refers to.
    op.drop_column('journey_milestone', 'evidence_left_behind')
    op.drop_index('ix_journey_organisation_states', table_name='journey')
    op.drop_index('ix_journey_template_states', table_name='journey')
    op.drop_index('ix_journey_template_started', table_name='journey')
    op.drop_column('journey', 'overdue_since')
    op.drop_table('journey_median')
