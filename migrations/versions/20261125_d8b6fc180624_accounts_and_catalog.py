"""accounts and catalog

Revision ID: d8b6fc180624
Revises: 
Create Date: 2026-11-25 07:33:39.249439

"""
from alembic import op
import sqlalchemy as sa

import lms.core.db


# revision identifiers, used by Alembic.
revision = 'd8b6fc180624'
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('asset',
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('content_type', sa.String(length=100), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.PrimaryKeyConstraint('sha256', name=op.f('pk_asset'))
    )
    op.create_table('login_attempt',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('ip_address', sa.String(length=64), nullable=False),
    sa.Column('succeeded', sa.Boolean(), nullable=False),
    sa.Column('attempted_at', lms.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_login_attempt'))
    )
    with op.batch_alter_table('login_attempt', schema=None) as batch_op:
        batch_op.create_index('ix_login_attempt_email_at', ['email', 'attempted_at'], unique=False)
        batch_op.create_index('ix_login_attempt_ip_at', ['ip_address', 'attempted_at'], unique=False)

    op.create_table('organisation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('name_key', sa.String(length=200), nullable=False),
    sa.Column('partner_type', sa.String(length=50), nullable=False),
    sa.Column('tier', sa.String(length=50), nullable=False),
    sa.Column('region', sa.String(length=50), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('created_at', lms.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', lms.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('active', 'suspended', 'inactive')", name=op.f('ck_organisation_status')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_organisation')),
    sa.UniqueConstraint('name_key', name=op.f('uq_organisation_name_key'))
    )
    op.create_table('outbox_message',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('to_address', sa.String(length=320), nullable=False),
    sa.Column('subject', sa.String(length=300), nullable=False),
    sa.Column('body_text', sa.Text(), nullable=False),
    sa.Column('template', sa.String(length=100), nullable=False),
    sa.Column('created_at', lms.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('sent_at', lms.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox_message'))
    )
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outbox_message_to_address'), ['to_address'], unique=False)

    op.create_table('term',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('code', sa.String(length=50), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('rank', sa.Integer(), nullable=False),
    sa.Column('archived_at', lms.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint("kind IN ('partner_type', 'tier', 'region', 'job_role')", name=op.f('ck_term_kind')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_term')),
    sa.UniqueConstraint('kind', 'code', name=op.f('uq_term_kind_code'))
    )
    op.create_table('track',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=100), nullable=False),
    sa.Column('audience', sa.JSON(), nullable=False),
    sa.Column('prerequisites', sa.JSON(), nullable=False),
    sa.Column('required', sa.Boolean(), nullable=False),
    sa.Column('sequential', sa.Boolean(), nullable=False),
    sa.Column('due_within_days', sa.Integer(), nullable=True),
    sa.Column('current_version_id', sa.Integer(), nullable=True),
    sa.Column('created_at', lms.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('archived_at', lms.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_track')),
    sa.UniqueConstraint('slug', name=op.f('uq_track_slug'))
    )
    op.create_table('track_version',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('track_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('estimated_minutes', sa.Integer(), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('published_at', lms.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['track_id'], ['track.id'], name=op.f('fk_track_version_track_id_track')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_track_version')),
    sa.UniqueConstraint('track_id', 'number', name=op.f('uq_track_version_track_id_number'))
    )
    with op.batch_alter_table('track_version', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_track_version_track_id'), ['track_id'], unique=False)

    # track and track_version point at each other: the second key is added once both exist.
    with op.batch_alter_table('track', schema=None) as batch_op:
        batch_op.create_foreign_key(batch_op.f('fk_track_current_version_id_track_version'), 'track_version', ['current_version_id'], ['id'])
    op.create_table('user_account',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('full_name', sa.String(length=200), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=True),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=True),
    sa.Column('job_role', sa.String(length=50), nullable=True),
    sa.Column('locale', sa.String(length=10), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', lms.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_login_at', lms.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint("(role IN ('learner', 'partner_admin')) = (organisation_id IS NOT NULL)", name=op.f('ck_user_account_partner_staff_have_organisation')),
    sa.CheckConstraint("role IN ('learner', 'partner_admin', 'author', 'channel_manager', 'vendor_admin')", name=op.f('ck_user_account_role')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_user_account_organisation_id_organisation')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_user_account')),
    sa.UniqueConstraint('email', name=op.f('uq_user_account_email'))
    )
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_user_account_organisation_id'), ['organisation_id'], unique=False)

    op.create_table('assignment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('track_id', sa.Integer(), nullable=False),
    sa.Column('by_rule', sa.Boolean(), nullable=False),
    sa.Column('manual', sa.Boolean(), nullable=False),
    sa.Column('assigned_by_id', sa.Integer(), nullable=True),
    sa.Column('assigned_at', lms.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('due_at', lms.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint('by_rule OR manual', name=op.f('ck_assignment_has_reason')),
    sa.ForeignKeyConstraint(['assigned_by_id'], ['user_account.id'], name=op.f('fk_assignment_assigned_by_id_user_account')),
    sa.ForeignKeyConstraint(['track_id'], ['track.id'], name=op.f('fk_assignment_track_id_track')),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_assignment_user_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assignment')),
    sa.UniqueConstraint('user_id', 'track_id', name=op.f('uq_assignment_user_id_track_id'))
    )
    with op.batch_alter_table('assignment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_assignment_track_id'), ['track_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_assignment_user_id'), ['user_id'], unique=False)

    op.create_table('course',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('track_version_id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=100), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['track_version_id'], ['track_version.id'], name=op.f('fk_course_track_version_id_track_version')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_course')),
    sa.UniqueConstraint('track_version_id', 'slug', name=op.f('uq_course_track_version_id_slug'))
    )
    with op.batch_alter_table('course', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_course_track_version_id'), ['track_version_id'], unique=False)

    op.create_table('invitation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('invited_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', lms.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', lms.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('accepted_at', lms.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', lms.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['invited_by_id'], ['user_account.id'], name=op.f('fk_invitation_invited_by_id_user_account')),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_invitation_user_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invitation')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_invitation_token_hash'))
    )
    with op.batch_alter_table('invitation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_invitation_user_id'), ['user_id'], unique=False)

    op.create_table('password_reset',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('created_at', lms.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', lms.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('used_at', lms.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_password_reset_user_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_password_reset')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_password_reset_token_hash'))
    )
    with op.batch_alter_table('password_reset', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_password_reset_user_id'), ['user_id'], unique=False)

    op.create_table('track_completion',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('track_id', sa.Integer(), nullable=False),
    sa.Column('track_version_id', sa.Integer(), nullable=False),
    sa.Column('completed_at', lms.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('carried_forward', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['track_id'], ['track.id'], name=op.f('fk_track_completion_track_id_track')),
    sa.ForeignKeyConstraint(['track_version_id'], ['track_version.id'], name=op.f('fk_track_completion_track_version_id_track_version')),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_track_completion_user_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_track_completion')),
    sa.UniqueConstraint('user_id', 'track_version_id', name=op.f('uq_track_completion_user_id_track_version_id'))
    )
    with op.batch_alter_table('track_completion', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_track_completion_track_id'), ['track_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_track_completion_track_version_id'), ['track_version_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_track_completion_user_id'), ['user_id'], unique=False)

    op.create_table('course_completion',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('course_id', sa.Integer(), nullable=False),
    sa.Column('completed_at', lms.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['course_id'], ['course.id'], name=op.f('fk_course_completion_course_id_course')),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_course_completion_user_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_course_completion')),
    sa.UniqueConstraint('user_id', 'course_id', name=op.f('uq_course_completion_user_id_course_id'))
    )
    with op.batch_alter_table('course_completion', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_course_completion_course_id'), ['course_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_course_completion_user_id'), ['user_id'], unique=False)

    op.create_table('lesson',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('track_version_id', sa.Integer(), nullable=False),
    sa.Column('course_id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=100), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('minutes', sa.Integer(), nullable=True),
    sa.Column('body_markdown', sa.Text(), nullable=False),
    sa.Column('video_url', sa.String(length=500), nullable=True),
    sa.Column('asset_sha256', sa.String(length=64), nullable=True),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.CheckConstraint("body_markdown <> '' OR video_url IS NOT NULL OR asset_sha256 IS NOT NULL", name=op.f('ck_lesson_has_content')),
    sa.ForeignKeyConstraint(['asset_sha256'], ['asset.sha256'], name=op.f('fk_lesson_asset_sha256_asset')),
    sa.ForeignKeyConstraint(['course_id'], ['course.id'], name=op.f('fk_lesson_course_id_course')),
    sa.ForeignKeyConstraint(['track_version_id'], ['track_version.id'], name=op.f('fk_lesson_track_version_id_track_version')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lesson')),
    sa.UniqueConstraint('track_version_id', 'position', name=op.f('uq_lesson_track_version_id_position')),
    sa.UniqueConstraint('track_version_id', 'slug', name=op.f('uq_lesson_track_version_id_slug'))
    )
    with op.batch_alter_table('lesson', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lesson_course_id'), ['course_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_lesson_track_version_id'), ['track_version_id'], unique=False)

    op.create_table('lesson_completion',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('lesson_id', sa.Integer(), nullable=False),
    sa.Column('completed_at', lms.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('carried_from_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['carried_from_id'], ['lesson_completion.id'], name=op.f('fk_lesson_completion_carried_from_id_lesson_completion')),
    sa.ForeignKeyConstraint(['lesson_id'], ['lesson.id'], name=op.f('fk_lesson_completion_lesson_id_lesson')),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_lesson_completion_user_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lesson_completion')),
    sa.UniqueConstraint('user_id', 'lesson_id', name=op.f('uq_lesson_completion_user_id_lesson_id'))
    )
    with op.batch_alter_table('lesson_completion', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lesson_completion_lesson_id'), ['lesson_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_lesson_completion_user_id'), ['user_id'], unique=False)



def downgrade():
    with op.batch_alter_table('track', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_track_current_version_id_track_version'), type_='foreignkey')
    with op.batch_alter_table('lesson_completion', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lesson_completion_user_id'))
        batch_op.drop_index(batch_op.f('ix_lesson_completion_lesson_id'))

    op.drop_table('lesson_completion')
    with op.batch_alter_table('lesson', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lesson_track_version_id'))
        batch_op.drop_index(batch_op.f('ix_lesson_course_id'))

    op.drop_table('lesson')
    with op.batch_alter_table('course_completion', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_course_completion_user_id'))
        batch_op.drop_index(batch_op.f('ix_course_completion_course_id'))

    op.drop_table('course_completion')
    with op.batch_alter_table('track_completion', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_track_completion_user_id'))
        batch_op.drop_index(batch_op.f('ix_track_completion_track_version_id'))
        batch_op.drop_index(batch_op.f('ix_track_completion_track_id'))

    op.drop_table('track_completion')
    with op.batch_alter_table('password_reset', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_password_reset_user_id'))

    op.drop_table('password_reset')
    with op.batch_alter_table('invitation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_invitation_user_id'))

    op.drop_table('invitation')
    with op.batch_alter_table('course', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_course_track_version_id'))

    op.drop_table('course')
    with op.batch_alter_table('assignment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_assignment_user_id'))
        batch_op.drop_index(batch_op.f('ix_assignment_track_id'))

    op.drop_table('assignment')
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_user_account_organisation_id'))

    op.drop_table('user_account')
    with op.batch_alter_table('track_version', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_track_version_track_id'))

    op.drop_table('track_version')
    op.drop_table('track')
    op.drop_table('term')
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outbox_message_to_address'))

    op.drop_table('outbox_message')
    op.drop_table('organisation')
    with op.batch_alter_table('login_attempt', schema=None) as batch_op:
        batch_op.drop_index('ix_login_attempt_ip_at')
        batch_op.drop_index('ix_login_attempt_email_at')

    op.drop_table('login_attempt')
    op.drop_table('asset')
