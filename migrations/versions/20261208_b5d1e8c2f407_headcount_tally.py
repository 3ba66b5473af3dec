"""headcount tally: each partner's people who joined, are invited or are deactivated, kept
by the account writes; filled by a recount of what is already there

Revision ID: b5d1e8c2f407
Revises: e7b3f91c4a2d
Create Date: 2026-12-08 20:40:00
"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = 'b5d1e8c2f407'
down_revision = 'e7b3f91c4a2d'
branch_labels = None
depends_on = None


def upgrade():
    # The app's own recount (one definition of what the tally counts).
    from lms.accounts import headcount
    from lms.core import tallies
    tallies.rebuild([headcount.STAFF], connection=op.get_bind())


def downgrade():
    op.execute(sa.text("DELETE FROM tally WHERE name = 'staff'"))
