"""tallies: counts kept by the writes (people, each track's assignments, certificates by
status and by the day a live one's renewal window opens and it expires, the outbox's
messages per kind and status), filled by a recount; and the live certificates' renewal index that today's share is counted on

Revision ID: e7b3f91c4a2d
Revises: e9c45b7d8a13
Create Date: 2026-12-07 17:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e7b3f91c4a2d'
down_revision = 'e9c45b7d8a13'
branch_labels = None
depends_on = None

LIVE = sa.text('revoked_at IS NULL AND superseded_at IS NULL')


def upgrade():
    op.create_table(
        'tally',
        sa.Column('name', sa.String(length=60), nullable=False),
        sa.Column('scope', sa.Integer(), nullable=False),
        sa.Column('key', sa.String(length=100), nullable=False),
        sa.Column('count', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('name', 'scope', 'key', name=op.f('pk_tally')),
    )
    op.create_index('ix_certificate_live_renewal', 'certificate', ['renewal_opens_at'],
                    postgresql_where=LIVE, sqlite_where=LIVE)
    # The tallies start as a recount of what is already there. The recounts are the app's
    # own (one definition of what each tally counts), imported from the modules that keep
    # them; named, so that a tally added later (whose rows may not exist yet at this
    # revision) is left to the migration that adds it.
    from lms.accounts import service as people
    from lms.catalog import assignments
    from lms.certifications import counts as certificates
    from lms.core import mail, tallies

    tallies.rebuild([people.PEOPLE, assignments.ASSIGNMENTS, certificates.ENDED,
                     certificates.LIVE_BY_RENEWAL_DAY, certificates.LIVE_BY_EXPIRY_DAY,
                     *mail.OUTBOX_TALLIES.values()], connection=op.get_bind())


def downgrade():
    op.drop_index('ix_certificate_live_renewal', table_name='certificate')
    op.drop_table('tally')
