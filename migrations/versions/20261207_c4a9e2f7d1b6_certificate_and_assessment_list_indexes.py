"""certificate register and assessment list indexes: newest first, expiring soon, status
counts, revoked and superseded, holder-name search (trigram on PostgreSQL); items by position, versions by
title

Revision ID: c4a9e2f7d1b6
Revises: b7e1c4d2a9f3
Create Date: 2026-12-07 14:10:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c4a9e2f7d1b6'
down_revision = 'b7e1c4d2a9f3'
branch_labels = None
depends_on = None

LIVE = sa.text('revoked_at IS NULL AND superseded_at IS NULL')
REVOKED = sa.text('revoked_at IS NOT NULL')
SUPERSEDED = sa.text('revoked_at IS NULL AND superseded_at IS NOT NULL')


def upgrade():
    postgresql = op.get_bind().dialect.name == 'postgresql'
    op.create_index('ix_certificate_issued', 'certificate', ['issued_at', 'id'])
    op.create_index('ix_certificate_live_expiry', 'certificate', ['expires_at', 'id'],
                    sqlite_where=LIVE, postgresql_where=LIVE)
    op.create_index('ix_certificate_status', 'certificate',
                    ['program_id', 'revoked_at', 'superseded_at', 'renewal_opens_at',
                     'expires_at'])
    op.create_index('ix_certificate_revoked_issued', 'certificate', ['issued_at', 'id'],
                    sqlite_where=REVOKED, postgresql_where=REVOKED)
    op.create_index('ix_certificate_superseded_issued', 'certificate', ['issued_at', 'id'],
                    sqlite_where=SUPERSEDED, postgresql_where=SUPERSEDED)
    if postgresql:
        # Trigrams find a fragment anywhere in a name; pg_trgm ships with PostgreSQL and is
        # a trusted extension (the database owner may create it).
        op.execute('CREATE EXTENSION IF NOT EXISTS pg_trgm')
        op.execute('CREATE INDEX ix_certificate_holder_name_trgm ON certificate '
                   'USING gin (lower(holder_name) gin_trgm_ops)')
    else:
        op.execute('CREATE INDEX ix_certificate_holder_name_trgm ON certificate '
                   '(lower(holder_name))')
    op.create_index('ix_assessment_item_version_position', 'assessment_item',
                    ['assessment_version_id', 'position'])
    op.create_index('ix_assessment_version_title', 'assessment_version', ['title', 'id'])


def downgrade():
    op.drop_index('ix_assessment_version_title', table_name='assessment_version')
    op.drop_index('ix_assessment_item_version_position', table_name='assessment_item')
    op.drop_index('ix_certificate_holder_name_trgm', table_name='certificate')
    op.drop_index('ix_certificate_superseded_issued', table_name='certificate')
    op.drop_index('ix_certificate_revoked_issued', table_name='certificate')
    op.drop_index('ix_certificate_status', table_name='certificate')
    op.drop_index('ix_certificate_live_expiry', table_name='certificate')
    op.drop_index('ix_certificate_issued', table_name='certificate')
