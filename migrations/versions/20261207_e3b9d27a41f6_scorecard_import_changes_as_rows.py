"""scorecard imports: what an import changed as rows of their own (scorecard_import_change)
instead of one JSON value per import, so an import's page reads one page of them; the
onboarding overview's medians read journeys' stages and first certifications by index
(issue 13)

Revision ID: e3b9d27a41f6
Revises: c5a8e2f7d1b6
Create Date: 2026-12-07 17:00:00

The existing JSON lists are moved into rows one import at a time, in Python on both
databases: the partner's name is lower-cased as the app lowers it when it writes a change
(SQL's lower() differs between SQLite and PostgreSQL beyond ASCII), and the rows keep the
list's order. The downgrade puts each import's rows back into its JSON value.
"""
from datetime import date

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e3b9d27a41f6'
down_revision = 'c5a8e2f7d1b6'
branch_labels = None
depends_on = None

BATCH = 5000  # rows per INSERT while moving an import's changes

imports = sa.table('scorecard_import', sa.column('id', sa.Integer),
                   sa.column('changes', sa.JSON), sa.column('summary', sa.JSON))
changes = sa.table(
    'scorecard_import_change', sa.column('id', sa.Integer),
    sa.column('import_id', sa.Integer), sa.column('organisation_id', sa.Integer),
    sa.column('partner', sa.String), sa.column('name_key', sa.String),
    sa.column('metric', sa.String), sa.column('as_of', sa.Date), sa.column('new', sa.Float),
    sa.column('old', sa.Float), sa.column('old_as_of', sa.Date),
    sa.column('current', sa.Boolean))


def upgrade():
    op.create_table('scorecard_import_change',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('import_id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('partner', sa.String(length=200), nullable=False),
    sa.Column('name_key', sa.String(length=200), nullable=False),
    sa.Column('metric', sa.String(length=50), nullable=False),
    sa.Column('as_of', sa.Date(), nullable=False),
    sa.Column('new', sa.Float(), nullable=False),
    sa.Column('old', sa.Float(), nullable=True),
    sa.Column('old_as_of', sa.Date(), nullable=True),
    sa.Column('current', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['import_id'], ['scorecard_import.id'], name=op.f('fk_scorecard_import_change_import_id_scorecard_import')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_scorecard_import_change_organisation_id_organisation')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_scorecard_import_change'))
    )
    connection = op.get_bind()
    ids = connection.scalars(sa.select(imports.c.id).order_by(imports.c.id)).all()
    for import_id in ids:  # one import's list in memory at a time
        listed = connection.scalar(sa.select(imports.c.changes)
                                   .where(imports.c.id == import_id)) or []
        rows = [_row(import_id, change) for change in listed]
        for start in range(0, len(rows), BATCH):
            connection.execute(changes.insert(), rows[start:start + BATCH])
    # Each import's changes counted per metric, kept with it (they never change after).
    op.add_column('scorecard_import', sa.Column('summary', sa.JSON(), nullable=False,
                                                server_default='{}'))
    summaries: dict[int, dict] = {}
    for import_id, metric, count, new, history in connection.execute(
            sa.select(changes.c.import_id, changes.c.metric, sa.func.count(),
                      sa.func.count(sa.case((changes.c.old.is_(None), 1))),
                      sa.func.count(sa.case((changes.c.current.is_(False), 1))))
            .group_by(changes.c.import_id, changes.c.metric)):
        summaries.setdefault(import_id, {})[metric] = [count, new, history]
    for import_id, summary in summaries.items():
        connection.execute(imports.update().where(imports.c.id == import_id)
                           .values(summary=summary))
    # Indexes after the rows: one sort each instead of an update per row.
    op.create_index('ix_scorecard_import_change_name', 'scorecard_import_change',
                    ['import_id', 'name_key', 'metric', 'as_of', 'id'], unique=False)
    op.create_index('ix_scorecard_import_change_metric', 'scorecard_import_change',
                    ['import_id', 'metric', 'name_key', 'as_of', 'id'], unique=False)
    # The vendor overview's stage medians: (journey, stage, done) from the index alone. It
    # serves every lookup the journey_id index served, which goes.
    op.create_index('ix_journey_milestone_journey_stage', 'journey_milestone',
                    ['journey_id', 'stage_index', 'done_at'], unique=False)
    op.drop_index('ix_journey_milestone_journey_id', table_name='journey_milestone')
    op.create_index('ix_journey_first_certified', 'journey', ['first_certified_at'],
                    unique=False)
    if connection.dialect.name == 'sqlite':
        # SQLite drops a plain column in place; a batch copy would rebuild scorecard_import,
        # which values and changes refer to (refused with foreign keys on).
        op.execute('ALTER TABLE scorecard_import DROP COLUMN changes')
    else:
        op.alter_column('scorecard_import', 'summary', server_default=None)
        op.drop_column('scorecard_import', 'changes')


def _row(import_id: int, change: dict) -> dict:
    as_of = date.fromisoformat(change['as_of'])
    old_as_of = date.fromisoformat(change['old_as_of']) if change.get('old_as_of') else None
    current = change.get('current')
    if current is None:  # the rule the import applied: not older than the value it found
        current = old_as_of is None or as_of >= old_as_of
    return {'import_id': import_id, 'organisation_id': change['organisation_id'],
            'partner': change['partner'], 'name_key': change['partner'].lower(),
            'metric': change['metric'], 'as_of': as_of, 'new': change['new'],
            'old': change.get('old'), 'old_as_of': old_as_of, 'current': bool(current)}


def downgrade():
    op.drop_index('ix_journey_first_certified', table_name='journey')
    op.create_index('ix_journey_milestone_journey_id', 'journey_milestone', ['journey_id'],
                    unique=False)
    op.drop_index('ix_journey_milestone_journey_stage', table_name='journey_milestone')
    op.add_column('scorecard_import', sa.Column('changes', sa.JSON(), nullable=False,
                                                server_default='[]'))
    connection = op.get_bind()
    ids = connection.scalars(sa.select(changes.c.import_id).distinct()).all()
    for import_id in sorted(ids):
        listed = [{
            'organisation_id': row.organisation_id, 'partner': row.partner,
            'metric': row.metric, 'as_of': row.as_of.isoformat(), 'new': row.new,
            'old': row.old, 'old_as_of': row.old_as_of.isoformat() if row.old_as_of else None,
            'current': bool(row.current)}
            for row in connection.execute(
                sa.select(changes).where(changes.c.import_id == import_id)
                .order_by(changes.c.name_key, changes.c.metric, changes.c.as_of,
                          changes.c.id))]
        connection.execute(imports.update().where(imports.c.id == import_id)
                           .values(changes=listed))
    if connection.dialect.name == 'sqlite':  # (in place, as the upgrade dropped changes)
        op.execute('ALTER TABLE scorecard_import DROP COLUMN summary')
    else:  # (SQLite cannot drop a default in place)
        op.alter_column('scorecard_import', 'changes', server_default=None)
        op.drop_column('scorecard_import', 'summary')
    op.drop_index('ix_scorecard_import_change_metric', table_name='scorecard_import_change')
    op.drop_index('ix_scorecard_import_change_name', table_name='scorecard_import_change')
    op.drop_table('scorecard_import_change')
