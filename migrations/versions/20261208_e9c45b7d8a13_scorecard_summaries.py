"""summaries kept by the writes (issue 13): the scorecard tiles' summary of the stored
scorecards, each closed period's partners per health and those it shares with earlier
periods; all filled from what is stored now (the outbox's messages per kind and status are
tallies: the next migration counts them)

Revision ID: e9c45b7d8a13
Revises: e3b9d27a41f6
Create Date: 2026-12-08 17:10:00

"""
from alembic import op
import sqlalchemy as sa

import lms.core.db


# revision identifiers, used by Alembic.
revision = 'e9c45b7d8a13'
down_revision = 'e3b9d27a41f6'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('scorecard_current_summary',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('green', sa.Integer(), nullable=False),
    sa.Column('yellow', sa.Integer(), nullable=False),
    sa.Column('red', sa.Integer(), nullable=False),
    sa.Column('unknown', sa.Integer(), nullable=False),
    sa.Column('flagged', sa.Integer(), nullable=False),
    sa.Column('gapped', sa.Integer(), nullable=False),
    sa.Column('unscored', sa.Integer(), nullable=False),
    sa.Column('computed_at', lms.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint('id = 1', name=op.f('ck_scorecard_current_summary_one_row')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_scorecard_current_summary'))
    )
    # The same count as lms.scorecard.current.summarise.
    op.execute("""
        INSERT INTO scorecard_current_summary
            (id, green, yellow, red, unknown, flagged, gapped, unscored, computed_at)
        SELECT 1,
               COALESCE(SUM(CASE WHEN c.health = 'green' THEN 1 ELSE 0 END), 0),
               COALESCE(SUM(CASE WHEN c.health = 'yellow' THEN 1 ELSE 0 END), 0),
               COALESCE(SUM(CASE WHEN c.health = 'red' THEN 1 ELSE 0 END), 0),
               COALESCE(SUM(CASE WHEN c.health = 'unknown' THEN 1 ELSE 0 END), 0),
               COALESCE(SUM(CASE WHEN c.flag_count > 0 THEN 1 ELSE 0 END), 0),
               COALESCE(SUM(CASE WHEN c.gap_count > 0 THEN 1 ELSE 0 END), 0),
               COALESCE(SUM(CASE WHEN c.organisation_id IS NULL THEN 1 ELSE 0 END), 0),
               MAX(c.computed_at)
        FROM organisation o
        LEFT JOIN scorecard_current c ON c.organisation_id = o.id
        WHERE o.status != 'inactive'""")

    # The default only fills the rows there are (a batch alter on SQLite would reflect
    # the tables it refers to); each is then counted from its snapshots.
    op.add_column('scorecard_period', sa.Column('health_counts', sa.JSON(), nullable=False,
                                                server_default='{}'))
    period = sa.table('scorecard_period', sa.column('id', sa.Integer()),
                      sa.column('health_counts', sa.JSON()))
    connection = op.get_bind()
    counts = {}
    for period_id, health, partners in connection.execute(sa.text(
            'SELECT period_id, health, count(*) FROM scorecard_snapshot '
            'GROUP BY period_id, health')):
        counts.setdefault(period_id, {})[health] = partners
    for period_id in connection.execute(sa.text('SELECT id FROM scorecard_period')).scalars():
        connection.execute(period.update().where(period.c.id == period_id)
                           .values(health_counts=counts.get(period_id, {})))

    op.create_table('scorecard_period_overlap',
    sa.Column('period_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('other_period_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('partners', sa.Integer(), nullable=False),
    sa.CheckConstraint('other_period_id < period_id', name=op.f('ck_scorecard_period_overlap_earlier')),
    sa.ForeignKeyConstraint(['other_period_id'], ['scorecard_period.id'], name=op.f('fk_scorecard_period_overlap_other_period_id_scorecard_period')),
    sa.ForeignKeyConstraint(['period_id'], ['scorecard_period.id'], name=op.f('fk_scorecard_period_overlap_period_id_scorecard_period')),
    sa.PrimaryKeyConstraint('period_id', 'other_period_id', name=op.f('pk_scorecard_period_overlap'))
    )
    # The same count as lms.scorecard.periods.close.
    op.execute("""
        INSERT INTO scorecard_period_overlap (period_id, other_period_id, partners)
        SELECT s.period_id, o.period_id, count(*)
        FROM scorecard_snapshot s
        JOIN scorecard_snapshot o ON o.organisation_id = s.organisation_id
                                 AND o.period_id < s.period_id
        GROUP BY s.period_id, o.period_id""")


def downgrade():
    op.drop_table('scorecard_period_overlap')
    op.drop_column('scorecard_period', 'health_counts')
    op.drop_table('scorecard_current_summary')
