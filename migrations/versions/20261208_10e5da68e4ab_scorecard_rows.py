"""scorecard rows (issue 13): beside each stored scorecard (current and frozen), the parts
of it the tables and comparisons show, so a page of 50 partners parses those rather than
50 whole records; filled from the records stored now

Revision ID: 10e5da68e4ab
Revises: b4f1d6e2a9c3
Create Date: 2026-12-08 20:20:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '10e5da68e4ab'
down_revision = 'b4f1d6e2a9c3'
branch_labels = None
depends_on = None

BATCH = 1000
METRIC_SHOWN = ("code", "name", "unit", "status", "value", "as_of", "age_days")


def compact(card):
    """lms.scorecard.table.compact as it is at this revision."""
    organisation, readiness = card["organisation"], card.get("readiness")
    return {
        "organisation": {"id": organisation["id"], "name": organisation["name"],
                         "labels": organisation["labels"]},
        "health": card["health"], "score": card["score"], "coverage": card["coverage"],
        "flags": [{"kind": flag["kind"], "key": flag["key"], "text": flag["text"]}
                  for flag in card["flags"]],
        "metrics": [{key: metric.get(key) for key in METRIC_SHOWN} for metric in card["metrics"]],
        "readiness": {"total": readiness["total"]} if readiness else None,
        "definitions": {"currency": card["definitions"]["currency"]}}


def _fill(name, key):
    """Each row's `table_row` from its record, a batch at a time by `key`."""
    stored = sa.table(name, sa.column(key, sa.Integer()), sa.column('record', sa.JSON()),
                      sa.column('table_row', sa.JSON()))
    connection = op.get_bind()
    after = None
    while True:
        statement = sa.select(stored.c[key], stored.c.record).order_by(stored.c[key]).limit(BATCH)
        if after is not None:
            statement = statement.where(stored.c[key] > after)
        found = connection.execute(statement).all()
        if not found:
            return
        for ident, record in found:
            connection.execute(stored.update().where(stored.c[key] == ident)
                               .values(table_row=compact(record)))
        after = found[-1][0]


def upgrade():
    # The default only fills the rows there are (a batch alter on SQLite would reflect the
    # tables they refer to); each is then written from its record.
    for name, key in (('scorecard_current', 'organisation_id'), ('scorecard_snapshot', 'id')):
        op.add_column(name, sa.Column('table_row', sa.JSON(), nullable=False,
                                      server_default='{}'))
        _fill(name, key)


def downgrade():
    op.drop_column('scorecard_snapshot', 'table_row')
    op.drop_column('scorecard_current', 'table_row')
