"""Migration e3b9d27a41f6 on the database under test: a database at the previous revision,
with changes stored as JSON, comes out with one row per change (and back again)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import flask_migrate
import sqlalchemy as sa
from sqlalchemy import create_engine, make_url, text

from lms import create_app
from lms.extensions import db

BEFORE = "c5a8e2f7d1b6"
JSON_CHANGES = [
    {"organisation_id": None, "partner": "Ärger GmbH", "metric": "co_sell_success",
     "as_of": "2026-09-30", "new": 31.5, "old": None, "old_as_of": None, "current": True},
    {"organisation_id": None, "partner": "Ärger GmbH", "metric": "mdf_spend",
     "as_of": "2026-06-30", "new": 70.0, "old": 80.0, "old_as_of": "2026-09-30",
     "current": False},
    # Written before "current" was kept with each change: the rule decides.
    {"organisation_id": None, "partner": "Ärger GmbH", "metric": "pipeline_velocity",
     "as_of": "2026-09-30", "new": 4200.0, "old": 3900.0, "old_as_of": "2026-06-30"},
]

organisation = sa.table("organisation", sa.column("id", sa.Integer),
                        sa.column("name", sa.String), sa.column("name_key", sa.String),
                        sa.column("partner_type", sa.String), sa.column("tier", sa.String),
                        sa.column("region", sa.String), sa.column("status", sa.String),
                        sa.column("created_at", sa.DateTime),
                        sa.column("updated_at", sa.DateTime))
scorecard_import = sa.table("scorecard_import", sa.column("id", sa.Integer),
                            sa.column("source", sa.String), sa.column("status", sa.String),
                            sa.column("created_at", sa.DateTime), sa.column("rows", sa.Integer),
                            sa.column("changed", sa.Integer), sa.column("changes", sa.JSON),
                            sa.column("problems", sa.JSON), sa.column("summary", sa.JSON))


def _scratch_url(tmp_path) -> str:
    """An empty database beside the one under test (PostgreSQL) or a SQLite file."""
    url = db.engine.url
    if url.get_backend_name() == "sqlite":
        return f"sqlite:///{tmp_path}/migration.db"
    name = f"{url.database}_migration"
    server = create_engine(url, isolation_level="AUTOCOMMIT")
    with server.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    server.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


def _drop(url: str) -> None:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return
    server = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with server.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}"'))
    server.dispose()


def test_json_changes_become_rows_and_come_back(tmp_path, app):
    url = _scratch_url(tmp_path)
    scratch = create_app({"SQLALCHEMY_DATABASE_URI": url, "INSTANCE_PATH": str(tmp_path),
                          "SECRET_KEY": "x"})
    try:
        with scratch.app_context():
            flask_migrate.upgrade(revision=BEFORE)
            engine = create_engine(url)
            now = datetime(2026, 10, 1, tzinfo=UTC)
            with engine.begin() as connection:
                partner_id = connection.execute(organisation.insert().values(
                    name="Ärger GmbH", name_key="ärger gmbh", partner_type="reseller",
                    tier="gold", region="emea", status="active", created_at=now,
                    updated_at=now).returning(organisation.c.id)).scalar_one()
                listed = [{**change, "organisation_id": partner_id}
                          for change in JSON_CHANGES]
                import_ids = [connection.execute(scorecard_import.insert().values(
                    source="csv", status=status, created_at=now, rows=len(changes),
                    changed=len(changes), changes=changes, problems=[])
                    .returning(scorecard_import.c.id)).scalar_one()
                    for status, changes in (("applied", listed), ("rejected", []))]

            flask_migrate.upgrade()
            with engine.connect() as connection:
                columns = {c["name"] for c in sa.inspect(connection).get_columns(
                    "scorecard_import")}
                rows = connection.execute(text(
                    "SELECT import_id, organisation_id, partner, name_key, metric, as_of, "
                    "new, old, old_as_of, current FROM scorecard_import_change "
                    "ORDER BY id")).all()
            assert "changes" not in columns
            with engine.connect() as connection:
                summaries = dict(connection.execute(
                    sa.select(scorecard_import.c.id, scorecard_import.c.summary)).all())
            assert summaries == {import_ids[0]: {"co_sell_success": [1, 1, 0],
                                                 "mdf_spend": [1, 0, 1],
                                                 "pipeline_velocity": [1, 0, 0]},
                                 import_ids[1]: {}}
            as_dates = [(r[:5] + (_date(r.as_of),) + r[6:8] + (_date(r.old_as_of), bool(r[9])))
                        for r in rows]
            assert as_dates == [
                (import_ids[0], partner_id, "Ärger GmbH", "ärger gmbh", "co_sell_success",
                 date(2026, 9, 30), 31.5, None, None, True),
                (import_ids[0], partner_id, "Ärger GmbH", "ärger gmbh", "mdf_spend",
                 date(2026, 6, 30), 70.0, 80.0, date(2026, 9, 30), False),
                (import_ids[0], partner_id, "Ärger GmbH", "ärger gmbh", "pipeline_velocity",
                 date(2026, 9, 30), 4200.0, 3900.0, date(2026, 6, 30), True)]

            flask_migrate.downgrade(revision=BEFORE)
            with engine.connect() as connection:
                restored = dict(connection.execute(
                    sa.select(scorecard_import.c.id, scorecard_import.c.changes)).all())
                tables = sa.inspect(connection).get_table_names()
            assert "scorecard_import_change" not in tables
            assert restored == {import_ids[0]: [{**change, "current": change.get(
                "current", True)} for change in listed], import_ids[1]: []}
            engine.dispose()
            db.engine.dispose()  # the scratch app's engine, before its database goes
    finally:
        _drop(url)


def _date(value) -> date | None:
    """SQLite hands raw SQL dates back as text."""
    return date.fromisoformat(value) if isinstance(value, str) else value
