"""a partner's staff certificates at any size (issue 13): each certificate says whether it
is its holder's latest cycle in its program and where its holder is now (partner, active),
kept by the writes, with a partial index of the latest ones by the holder's partner

Revision ID: a3c7e5d91f28
Revises: c8e2a4f6b913
Create Date: 2026-12-09 09:00:00
"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = 'a3c7e5d91f28'
down_revision = 'c8e2a4f6b913'
branch_labels = None
depends_on = None

LATEST = {'postgresql_where': sa.text('latest'), 'sqlite_where': sa.text('latest = 1')}


def upgrade():
    op.add_column('certificate', sa.Column('holder_active', sa.Boolean(),
                                           server_default=sa.true(), nullable=False))
    op.add_column('certificate', sa.Column('latest', sa.Boolean(),
                                           server_default=sa.true(), nullable=False))
    if op.get_bind().dialect.name == 'sqlite':
        # ADD COLUMN with its reference, not a batch copy of a table others refer to.
        op.execute('ALTER TABLE certificate ADD COLUMN holder_organisation_id INTEGER '
                   'CONSTRAINT fk_certificate_holder_organisation_id_organisation '
                   'REFERENCES organisation (id)')
    else:
        op.add_column('certificate', sa.Column('holder_organisation_id', sa.Integer(),
                                               nullable=True))
        op.create_foreign_key(op.f('fk_certificate_holder_organisation_id_organisation'),
                              'certificate', 'organisation', ['holder_organisation_id'], ['id'])
    # As holders.rebuild sets them: from the cycles and the people as they are now.
    op.execute("""
        UPDATE certificate SET
            latest = NOT EXISTS (SELECT 1 FROM certificate later
                                 WHERE later.user_id = certificate.user_id
                                   AND later.program_id = certificate.program_id
                                   AND later.cycle > certificate.cycle),
            holder_organisation_id = (SELECT u.organisation_id FROM user_account u
                                      WHERE u.id = certificate.user_id),
            holder_active = (SELECT u.active FROM user_account u
                             WHERE u.id = certificate.user_id)""")
    op.create_index('ix_certificate_holder_latest', 'certificate',
                    ['holder_organisation_id', 'program_name', 'user_id', 'holder_active',
                     'revoked_at', 'superseded_at', 'renewal_opens_at', 'expires_at',
                     'grace_ends_at'], unique=False, **LATEST)


def downgrade():
    op.drop_index('ix_certificate_holder_latest', table_name='certificate', **LATEST)
    if op.get_bind().dialect.name != 'sqlite':
        op.drop_constraint(op.f('fk_certificate_holder_organisation_id_organisation'),
                           'certificate', type_='foreignkey')
    # Plain DROP COLUMN (SQLite 3.35+; its reference goes with it): a batch copy would
    # rebuild a table others refer to.
    op.drop_column('certificate', 'holder_organisation_id')
    op.drop_column('certificate', 'latest')
    op.drop_column('certificate', 'holder_active')
