"""indexes for the vendor's and partners' lists: partners by name within tier, type and
region; people by lower(full_name) alone, within a role and within a partner; the outbox
newest first (all, one kind, the unsent); a journey's open milestones; a partner's
sign-offs for people who left

Revision ID: c5a8e2f7d1b6
Revises: c5d2e8f1a7b4
Create Date: 2026-12-07 14:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c5a8e2f7d1b6'
down_revision = 'c5d2e8f1a7b4'
branch_labels = None
depends_on = None

UNSENT = sa.text('sent_at IS NULL')
OPEN = sa.text('done_at IS NULL')


def upgrade():
    op.create_index('ix_organisation_tier_name', 'organisation', ['tier', 'name_key'])
    op.create_index('ix_organisation_partner_type_name', 'organisation',
                    ['partner_type', 'name_key'])
    op.create_index('ix_organisation_region_name', 'organisation', ['region', 'name_key'])
    op.create_index('ix_user_account_name', 'user_account',
                    [sa.text('lower(full_name)'), 'id'])
    op.create_index('ix_user_account_role_name', 'user_account',
                    ['role', sa.text('lower(full_name)'), 'id'])
    op.create_index('ix_user_account_organisation_name', 'user_account',
                    ['organisation_id', sa.text('lower(full_name)'), 'id'])
    op.create_index('ix_outbox_message_created', 'outbox_message', ['created_at', 'id'])
    op.create_index('ix_outbox_message_template_created', 'outbox_message',
                    ['template', 'created_at', 'id'])
    op.create_index('ix_outbox_message_unsent', 'outbox_message', ['created_at', 'id'],
                    postgresql_where=UNSENT, sqlite_where=UNSENT)
    op.create_index('ix_journey_milestone_open_by_journey', 'journey_milestone',
                    ['journey_id', 'due_at'], postgresql_where=OPEN, sqlite_where=OPEN)
    op.create_index('ix_journey_milestone_evidence_organisation', 'journey_milestone',
                    ['evidence_organisation_id', 'done_at', 'id'])


def downgrade():
    for table, name in (
            ('journey_milestone', 'ix_journey_milestone_evidence_organisation'),
            ('journey_milestone', 'ix_journey_milestone_open_by_journey'),
            ('outbox_message', 'ix_outbox_message_unsent'),
            ('outbox_message', 'ix_outbox_message_template_created'),
            ('outbox_message', 'ix_outbox_message_created'),
            ('user_account', 'ix_user_account_organisation_name'),
            ('user_account', 'ix_user_account_role_name'),
            ('user_account', 'ix_user_account_name'),
            ('organisation', 'ix_organisation_region_name'),
            ('organisation', 'ix_organisation_partner_type_name'),
            ('organisation', 'ix_organisation_tier_name')):
        op.drop_index(name, table_name=table)
