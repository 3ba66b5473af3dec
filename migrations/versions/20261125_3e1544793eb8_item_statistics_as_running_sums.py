"""item statistics as running sums

Revision ID: 3e1544793eb8
Revises: 56299fe76267
Create Date: 2026-11-25 08:35:14.617125

"""
from alembic import op
import sqlalchemy as sa

import lms.core.db


# revision identifiers, used by Alembic.
revision = '3e1544793eb8'
down_revision = '56299fe76267'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('item_statistic',
    sa.Column('assessment_item_id', sa.Integer(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('answered', sa.Integer(), nullable=False),
    sa.Column('sum_x', sa.Float(), nullable=False),
    sa.Column('sum_xx', sa.Float(), nullable=False),
    sa.Column('sum_r', sa.Float(), nullable=False),
    sa.Column('sum_rr', sa.Float(), nullable=False),
    sa.Column('sum_xr', sa.Float(), nullable=False),
    sa.ForeignKeyConstraint(['assessment_item_id'], ['assessment_item.id'], name=op.f('fk_item_statistic_assessment_item_id_assessment_item')),
    sa.PrimaryKeyConstraint('assessment_item_id', name=op.f('pk_item_statistic'))
    )
    op.create_table('option_statistic',
    sa.Column('assessment_item_id', sa.Integer(), nullable=False),
    sa.Column('option_id', sa.String(length=40), nullable=False),
    sa.Column('chosen', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['assessment_item_id'], ['assessment_item.id'], name=op.f('fk_option_statistic_assessment_item_id_assessment_item')),
    sa.PrimaryKeyConstraint('assessment_item_id', 'option_id', name=op.f('pk_option_statistic'))
    )
    # Carry what was graded so far into the sums, before the old table goes.
    op.execute(
        "INSERT INTO item_statistic (assessment_item_id, attempts, answered, sum_x, sum_xx,"
        " sum_r, sum_rr, sum_xr)"
        " SELECT ai.assessment_item_id, count(*), count(r.id), sum(coalesce(r.score, 0)),"
        " sum(coalesce(r.score, 0) * coalesce(r.score, 0)),"
        " sum(a.score_points - coalesce(r.points, 0)),"
        " sum((a.score_points - coalesce(r.points, 0)) * (a.score_points - coalesce(r.points, 0))),"
        " sum(coalesce(r.score, 0) * (a.score_points - coalesce(r.points, 0)))"
        " FROM attempt_item ai JOIN attempt a ON a.id = ai.attempt_id"
        " LEFT JOIN response r ON r.attempt_item_id = ai.id"
        " WHERE a.status <> 'in_progress' GROUP BY ai.assessment_item_id")
    op.execute(
        "INSERT INTO option_statistic (assessment_item_id, option_id, chosen)"
        " SELECT assessment_item_id, option_id, count(*) FROM response_choice"
        " GROUP BY assessment_item_id, option_id")
    with op.batch_alter_table('response_choice', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_response_choice_item_option'))
        batch_op.drop_index(batch_op.f('ix_response_choice_response_id'))

    op.drop_table('response_choice')


def downgrade():
    # The per-response choices are not rebuilt: they stay in each response's answer JSON.
    op.create_table('response_choice',
    sa.Column('id', sa.INTEGER(), nullable=False),
    sa.Column('response_id', sa.INTEGER(), nullable=False),
    sa.Column('assessment_item_id', sa.INTEGER(), nullable=False),
    sa.Column('option_id', sa.VARCHAR(length=40), nullable=False),
    sa.ForeignKeyConstraint(['assessment_item_id'], ['assessment_item.id'], name=op.f('fk_response_choice_assessment_item_id_assessment_item')),
    sa.ForeignKeyConstraint(['response_id'], ['response.id'], name=op.f('fk_response_choice_response_id_response'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_response_choice')),
    sa.UniqueConstraint('response_id', 'option_id', name=op.f('uq_response_choice_response_id_option_id'))
    )
    with op.batch_alter_table('response_choice', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_response_choice_response_id'), ['response_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_response_choice_item_option'), ['assessment_item_id', 'option_id'], unique=False)

    op.drop_table('option_statistic')
    op.drop_table('item_statistic')
