"""scorecard: each partner's current scorecard stored by the recompute, with the columns
and indexes the table sorts, filters and searches by (issue 13)

Revision ID: c5d2e8f1a7b4
Revises: c4a9e2f7d1b6
Create Date: 2026-12-07 14:00:43.994900

"""
from alembic import op
import sqlalchemy as sa

import lms.core.db


# revision identifiers, used by Alembic.
revision = 'c5d2e8f1a7b4'
down_revision = 'c4a9e2f7d1b6'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('scorecard_current',
    sa.Column('organisation_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('name_key', sa.String(length=200), nullable=False),
    sa.Column('tier', sa.String(length=50), nullable=False),
    sa.Column('region', sa.String(length=50), nullable=False),
    sa.Column('partner_type', sa.String(length=50), nullable=False),
    sa.Column('health', sa.String(length=10), nullable=False),
    sa.Column('score', sa.Float(), nullable=True),
    sa.Column('coverage', sa.Float(), nullable=False),
    sa.Column('flag_count', sa.Integer(), nullable=False),
    sa.Column('gap_count', sa.Integer(), nullable=False),
    sa.Column('computed_at', lms.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('record', sa.JSON(), nullable=False),
    sa.CheckConstraint("health IN ('green', 'yellow', 'red', 'unknown')", name=op.f('ck_scorecard_current_health')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_scorecard_current_organisation_id_organisation')),
    sa.PrimaryKeyConstraint('organisation_id', name=op.f('pk_scorecard_current'))
    )
    with op.batch_alter_table('scorecard_current', schema=None) as batch_op:
        batch_op.create_index('ix_scorecard_current_coverage', ['coverage', 'name_key'], unique=False)
        batch_op.create_index('ix_scorecard_current_flag_count', ['flag_count', 'name_key'], unique=False)
        batch_op.create_index('ix_scorecard_current_health', ['health', 'name_key'], unique=False)
        batch_op.create_index('ix_scorecard_current_name', ['name_key', 'organisation_id'], unique=False)
        batch_op.create_index('ix_scorecard_current_partner_type', ['partner_type', 'name_key'], unique=False)
        batch_op.create_index('ix_scorecard_current_region', ['region', 'name_key'], unique=False)
        batch_op.create_index('ix_scorecard_current_score', ['score', 'name_key'], unique=False)
        batch_op.create_index('ix_scorecard_current_tier', ['tier', 'name_key'], unique=False)

    op.create_table('scorecard_current_flag',
    sa.Column('organisation_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('raised', sa.Integer(), nullable=False),
    sa.CheckConstraint('raised >= 0', name=op.f('ck_scorecard_current_flag_raised')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_scorecard_current_flag_organisation_id_organisation')),
    sa.PrimaryKeyConstraint('organisation_id', 'kind', name=op.f('pk_scorecard_current_flag'))
    )
    with op.batch_alter_table('scorecard_current_flag', schema=None) as batch_op:
        batch_op.create_index('ix_scorecard_current_flag_kind', ['kind', 'raised', 'organisation_id'], unique=False)

    op.create_table('scorecard_current_metric',
    sa.Column('organisation_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('metric', sa.String(length=50), nullable=False),
    sa.Column('value', sa.Float(), nullable=True),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_scorecard_current_metric_organisation_id_organisation')),
    sa.PrimaryKeyConstraint('organisation_id', 'metric', name=op.f('pk_scorecard_current_metric'))
    )
    with op.batch_alter_table('scorecard_current_metric', schema=None) as batch_op:
        batch_op.create_index('ix_scorecard_current_metric_sort', ['metric', 'value'], unique=False)

    # A closed period's page lists its partners by name: the name as it was, from the
    # organisation for the snapshots taken before this column.
    op.add_column('scorecard_snapshot', sa.Column('name_key', sa.String(length=200), nullable=False, server_default=''))
    op.execute('UPDATE scorecard_snapshot SET name_key = (SELECT name_key FROM organisation '
               'WHERE organisation.id = scorecard_snapshot.organisation_id)')
    with op.batch_alter_table('scorecard_snapshot', schema=None) as batch_op:
        batch_op.create_index('ix_scorecard_snapshot_period_name', ['period_id', 'name_key', 'organisation_id'], unique=False)
        batch_op.create_index('ix_scorecard_snapshot_period_health', ['period_id', 'health', 'name_key'], unique=False)

    # The pages now read stored scorecards: forgetting when everyone was last recomputed
    # makes the next tick (lms tick / beat) score everyone and fill the tables at once.
    op.execute("DELETE FROM setting WHERE key = 'scorecard_recomputed_everyone_at'")


def downgrade():
    with op.batch_alter_table('scorecard_snapshot', schema=None) as batch_op:
        batch_op.drop_index('ix_scorecard_snapshot_period_health')
        batch_op.drop_index('ix_scorecard_snapshot_period_name')
        batch_op.drop_column('name_key')
    with op.batch_alter_table('scorecard_current_metric', schema=None) as batch_op:
        batch_op.drop_index('ix_scorecard_current_metric_sort')

    op.drop_table('scorecard_current_metric')
    with op.batch_alter_table('scorecard_current_flag', schema=None) as batch_op:
        batch_op.drop_index('ix_scorecard_current_flag_kind')

    op.drop_table('scorecard_current_flag')
    with op.batch_alter_table('scorecard_current', schema=None) as batch_op:
        batch_op.drop_index('ix_scorecard_current_tier')
        batch_op.drop_index('ix_scorecard_current_score')
        batch_op.drop_index('ix_scorecard_current_region')
        batch_op.drop_index('ix_scorecard_current_partner_type')
        batch_op.drop_index('ix_scorecard_current_name')
        batch_op.drop_index('ix_scorecard_current_health')
        batch_op.drop_index('ix_scorecard_current_flag_count')
        batch_op.drop_index('ix_scorecard_current_coverage')

    op.drop_table('scorecard_current')
