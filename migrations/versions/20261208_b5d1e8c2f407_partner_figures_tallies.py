"""partner figures kept by the writes: each partner's headcount (joined, invited,
deactivated) and learning figures (completed, lessons, done, open assignments by due day),
filled by a recount of what is already there; the index of assignments by due date that
today's overdue ones are counted on

Revision ID: b5d1e8c2f407
Revises: 10e5da68e4ab
Create Date: 2026-12-08 20:40:00
"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = 'b5d1e8c2f407'
down_revision = '10e5da68e4ab'
branch_labels = None
depends_on = None

DUE = sa.text('due_at IS NOT NULL')
NAMES = ('staff', 'team_progress', 'team_open_due')


def upgrade():
    op.create_index('ix_assignment_due_at', 'assignment', ['due_at'],
                    postgresql_where=DUE, sqlite_where=DUE)
    # The app's own recounts (one definition of what each tally counts).
    from lms.accounts import headcount
    from lms.catalog import team_tallies
    from lms.core import tallies
    tallies.rebuild([headcount.STAFF, team_tallies.PROGRESS, team_tallies.OPEN_DUE],
                    connection=op.get_bind())


def downgrade():
    op.execute(sa.text("DELETE FROM tally WHERE name IN ('staff', 'team_progress', "
                       "'team_open_due')"))
    op.drop_index('ix_assignment_due_at', table_name='assignment')
