"""server-side sessions; reset requests throttled like sign-ins; sign-off evidence keeps its partner

Revision ID: b7c41e9a2d53
Revises: 6d8e3f0a2b04
Create Date: 2026-12-07 05:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

import lms.core.db


# revision identifiers, used by Alembic.
revision = 'b7c41e9a2d53'
down_revision = '6d8e3f0a2b04'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('user_session',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('created_at', lms.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', lms.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('user_agent', sa.String(length=100), nullable=False),
    sa.Column('ip_address', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_user_session_user_id_user_account'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_user_session'))
    )
    with op.batch_alter_table('user_session', schema=None) as batch_op:
        batch_op.create_index('ix_user_session_user_last_seen', ['user_id', 'last_seen_at'], unique=False)

    with op.batch_alter_table('login_attempt', schema=None) as batch_op:
        batch_op.add_column(sa.Column('action', sa.String(length=20), server_default='sign_in', nullable=False))
        batch_op.create_check_constraint('action', "action IN ('sign_in', 'password_reset')")

    with op.batch_alter_table('journey_milestone', schema=None) as batch_op:
        batch_op.add_column(sa.Column('evidence_organisation_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_journey_milestone_evidence_organisation_id_organisation'), 'organisation', ['evidence_organisation_id'], ['id'])
    # Sign-offs already given belong to the partner their journey is with today (a move
    # before this revision cannot be told apart any more).
    op.execute(
        "UPDATE journey_milestone SET evidence_organisation_id = "
        "(SELECT journey.organisation_id FROM journey WHERE journey.id = journey_milestone.journey_id) "
        "WHERE done_by_id IS NOT NULL AND kind = 'manual'")


def downgrade():
    with op.batch_alter_table('journey_milestone', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_journey_milestone_evidence_organisation_id_organisation'), type_='foreignkey')
        batch_op.drop_column('evidence_organisation_id')

    with op.batch_alter_table('login_attempt', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_login_attempt_action'), type_='check')
        batch_op.drop_column('action')

    with op.batch_alter_table('user_session', schema=None) as batch_op:
        batch_op.drop_index('ix_user_session_user_last_seen')

    op.drop_table('user_session')
