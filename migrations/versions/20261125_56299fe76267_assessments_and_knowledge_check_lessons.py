"""assessments and knowledge-check lessons

Revision ID: 56299fe76267
Revises: 6a9de0a9d8c6
Create Date: 2026-11-25 07:57:30.439515

"""
from alembic import op
import sqlalchemy as sa

import lms.core.db


# revision identifiers, used by Alembic.
revision = '56299fe76267'
down_revision = '6a9de0a9d8c6'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('assessment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=100), nullable=False),
    sa.Column('current_version_id', sa.Integer(), nullable=True),
    sa.Column('created_at', lms.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('archived_at', lms.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assessment')),
    sa.UniqueConstraint('slug', name=op.f('uq_assessment_slug'))
    )
    op.create_table('assessment_version',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('assessment_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('pass_mark', sa.Integer(), nullable=False),
    sa.Column('time_limit_minutes', sa.Integer(), nullable=True),
    sa.Column('max_attempts', sa.Integer(), nullable=True),
    sa.Column('cooldown_hours', sa.Integer(), nullable=False),
    sa.Column('shuffle_items', sa.Boolean(), nullable=False),
    sa.Column('shuffle_options', sa.Boolean(), nullable=False),
    sa.Column('feedback', sa.String(length=20), nullable=False),
    sa.Column('draw_rules', sa.JSON(), nullable=True),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('published_at', lms.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("feedback IN ('never', 'after_submission', 'after_passing')", name=op.f('ck_assessment_version_feedback')),
    sa.CheckConstraint('pass_mark BETWEEN 1 AND 100', name=op.f('ck_assessment_version_pass_mark')),
    sa.ForeignKeyConstraint(['assessment_id'], ['assessment.id'], name=op.f('fk_assessment_version_assessment_id_assessment')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assessment_version')),
    sa.UniqueConstraint('assessment_id', 'number', name=op.f('uq_assessment_version_assessment_id_number'))
    )
    with op.batch_alter_table('assessment_version', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_assessment_version_assessment_id'), ['assessment_id'], unique=False)

    # assessment and assessment_version point at each other: add the second key once both exist.
    with op.batch_alter_table('assessment', schema=None) as batch_op:
        batch_op.create_foreign_key(batch_op.f('fk_assessment_current_version_id_assessment_version'), 'assessment_version', ['current_version_id'], ['id'])
    op.create_table('assessment_item',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('assessment_version_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('bank_slug', sa.String(length=100), nullable=False),
    sa.Column('item_key', sa.String(length=100), nullable=False),
    sa.Column('item_type', sa.String(length=30), nullable=False),
    sa.Column('points', sa.Integer(), nullable=False),
    sa.Column('tags', sa.JSON(), nullable=False),
    sa.Column('definition', sa.JSON(), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['assessment_version_id'], ['assessment_version.id'], name=op.f('fk_assessment_item_assessment_version_id_assessment_version')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assessment_item')),
    sa.UniqueConstraint('assessment_version_id', 'bank_slug', 'item_key', name=op.f('uq_assessment_item_assessment_version_id_bank_slug_item_key'))
    )
    with op.batch_alter_table('assessment_item', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_assessment_item_assessment_version_id'), ['assessment_version_id'], unique=False)

    op.create_table('attempt',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('public_id', sa.String(length=32), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('assessment_id', sa.Integer(), nullable=False),
    sa.Column('assessment_version_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('max_attempts', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('started_at', lms.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('deadline_at', lms.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('submitted_at', lms.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('score_points', sa.Float(), nullable=True),
    sa.Column('max_points', sa.Integer(), nullable=False),
    sa.Column('percent', sa.Float(), nullable=True),
    sa.Column('passed', sa.Boolean(), nullable=True),
    sa.CheckConstraint("status IN ('in_progress', 'submitted', 'expired')", name=op.f('ck_attempt_status')),
    sa.CheckConstraint('number >= 1 AND (max_attempts IS NULL OR number <= max_attempts)', name=op.f('ck_attempt_within_limit')),
    sa.ForeignKeyConstraint(['assessment_id'], ['assessment.id'], name=op.f('fk_attempt_assessment_id_assessment')),
    sa.ForeignKeyConstraint(['assessment_version_id'], ['assessment_version.id'], name=op.f('fk_attempt_assessment_version_id_assessment_version')),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_attempt_user_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_attempt')),
    sa.UniqueConstraint('public_id', name=op.f('uq_attempt_public_id')),
    sa.UniqueConstraint('user_id', 'assessment_id', 'number', name=op.f('uq_attempt_user_id_assessment_id_number'))
    )
    with op.batch_alter_table('attempt', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_attempt_user_id'), ['user_id'], unique=False)
        batch_op.create_index('ix_attempt_version_status', ['assessment_version_id', 'status'], unique=False)
        batch_op.create_index('uq_attempt_one_open', ['user_id', 'assessment_id'], unique=True, sqlite_where=sa.text("status = 'in_progress'"), postgresql_where=sa.text("status = 'in_progress'"))

    op.create_table('attempt_item',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('attempt_id', sa.Integer(), nullable=False),
    sa.Column('assessment_item_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('option_order', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['assessment_item_id'], ['assessment_item.id'], name=op.f('fk_attempt_item_assessment_item_id_assessment_item')),
    sa.ForeignKeyConstraint(['attempt_id'], ['attempt.id'], name=op.f('fk_attempt_item_attempt_id_attempt')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_attempt_item')),
    sa.UniqueConstraint('attempt_id', 'assessment_item_id', name=op.f('uq_attempt_item_attempt_id_assessment_item_id')),
    sa.UniqueConstraint('attempt_id', 'position', name=op.f('uq_attempt_item_attempt_id_position'))
    )
    with op.batch_alter_table('attempt_item', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_attempt_item_assessment_item_id'), ['assessment_item_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_attempt_item_attempt_id'), ['attempt_id'], unique=False)

    op.create_table('response',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('attempt_item_id', sa.Integer(), nullable=False),
    sa.Column('answer', sa.JSON(), nullable=False),
    sa.Column('saved_at', lms.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('score', sa.Float(), nullable=True),
    sa.Column('points', sa.Float(), nullable=True),
    sa.ForeignKeyConstraint(['attempt_item_id'], ['attempt_item.id'], name=op.f('fk_response_attempt_item_id_attempt_item')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_response')),
    sa.UniqueConstraint('attempt_item_id', name=op.f('uq_response_attempt_item_id'))
    )
    op.create_table('response_choice',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('response_id', sa.Integer(), nullable=False),
    sa.Column('assessment_item_id', sa.Integer(), nullable=False),
    sa.Column('option_id', sa.String(length=40), nullable=False),
    sa.ForeignKeyConstraint(['assessment_item_id'], ['assessment_item.id'], name=op.f('fk_response_choice_assessment_item_id_assessment_item')),
    sa.ForeignKeyConstraint(['response_id'], ['response.id'], name=op.f('fk_response_choice_response_id_response'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_response_choice')),
    sa.UniqueConstraint('response_id', 'option_id', name=op.f('uq_response_choice_response_id_option_id'))
    )
    with op.batch_alter_table('response_choice', schema=None) as batch_op:
        batch_op.create_index('ix_response_choice_item_option', ['assessment_item_id', 'option_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_response_choice_response_id'), ['response_id'], unique=False)

    with op.batch_alter_table('lesson', schema=None) as batch_op:
        batch_op.add_column(sa.Column('assessment_slug', sa.String(length=100), nullable=True))
        # A knowledge-check lesson needs no text of its own.
        batch_op.drop_constraint(op.f('ck_lesson_has_content'), type_='check')
        batch_op.create_check_constraint(op.f('ck_lesson_has_content'), "body_markdown <> '' OR video_url IS NOT NULL OR asset_sha256 IS NOT NULL OR assessment_slug IS NOT NULL")



def downgrade():
    with op.batch_alter_table('assessment', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_assessment_current_version_id_assessment_version'), type_='foreignkey')
    with op.batch_alter_table('lesson', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_lesson_has_content'), type_='check')
        batch_op.create_check_constraint(op.f('ck_lesson_has_content'), "body_markdown <> '' OR video_url IS NOT NULL OR asset_sha256 IS NOT NULL")
        batch_op.drop_column('assessment_slug')

    with op.batch_alter_table('response_choice', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_response_choice_response_id'))
        batch_op.drop_index('ix_response_choice_item_option')

    op.drop_table('response_choice')
    op.drop_table('response')
    with op.batch_alter_table('attempt_item', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_attempt_item_attempt_id'))
        batch_op.drop_index(batch_op.f('ix_attempt_item_assessment_item_id'))

    op.drop_table('attempt_item')
    with op.batch_alter_table('attempt', schema=None) as batch_op:
        batch_op.drop_index('uq_attempt_one_open', sqlite_where=sa.text("status = 'in_progress'"), postgresql_where=sa.text("status = 'in_progress'"))
        batch_op.drop_index('ix_attempt_version_status')
        batch_op.drop_index(batch_op.f('ix_attempt_user_id'))

    op.drop_table('attempt')
    with op.batch_alter_table('assessment_item', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_assessment_item_assessment_version_id'))

    op.drop_table('assessment_item')
    with op.batch_alter_table('assessment_version', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_assessment_version_assessment_id'))

    op.drop_table('assessment_version')
    op.drop_table('assessment')
